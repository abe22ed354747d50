"""`stepwise dev`: the whole system on loopback with embedded defaults.

Starts, in order: the Temporal dev server (SQLite under the state dir, WAL pragmas,
Stepwise's search attributes), PostgreSQL (``STEPWISE_DATABASE_URL`` or embedded
pgserver), the AWS emulator with every resource bootstrapped, the partner emulators,
the migrations, then the worker and the HTTP API as child processes configured
exactly as they would be in production (environment variables only). A child that
exits is restarted with backoff (:mod:`worker.devstack.supervisor`); Ctrl-C or SIGTERM
stops everything in reverse order; the state dir keeps the data for the next run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from activities.common.resources import Resources
from worker.devstack.aws import EMULATOR_ENV, apply_resources, moto_process
from worker.devstack.postgres import start_embedded_postgres
from worker.devstack.processes import ManagedProcess, StartError, port_open
from worker.devstack.seed import (
    DEV_OPERATOR,
    DEV_OPERATOR_TOKEN,
    DEV_PARTNER_ID,
    DEV_PARTNER_TOKEN,
    demo_media_uri,
    seed_demo_data,
)
from worker.devstack.supervisor import Supervisor
from worker.devstack.temporal_server import dev_server_command
from worker.migrate import upgrade_head
from worker.settings import Settings, hash_token


@dataclass
class DevStack:
    """The running embedded stack and its child processes."""

    settings: Settings
    fresh: bool = False
    supervisor: Supervisor = field(init=False)
    endpoints: list[tuple[str, str]] = field(default_factory=list)
    _postgres: Any = None

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.state_dir / "logs" / "supervisor.log")

    @property
    def state_dir(self) -> Path:
        """Where every embedded component keeps its data."""
        return self.settings.dev.state_dir

    def start(self) -> None:
        """Bring every component up; raise :class:`StartError` naming the one that failed."""
        if self.fresh and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        dev = self.settings.dev
        for name, port in (("Temporal", dev.temporal_port), ("AWS emulator", dev.aws_port)):
            if port_open(port):
                raise StartError(f"{name} port {port} is already in use (another `stepwise dev`?)")
        env = self._child_env()
        temporal_command = dev_server_command(self.state_dir / "temporal.db", dev.temporal_port, dev.temporal_ui_port)
        self._spawn("temporal", temporal_command, env, dev.temporal_port)
        self._run(moto_process(dev.aws_port, self.state_dir), dev.aws_port)
        database_url = self._postgres_url()
        env["STEPWISE_DATABASE_URL"] = database_url
        os.environ.update(env)
        upgrade_head(database_url)
        apply_resources(Resources(prefix=self.settings.aws.name_prefix))
        seed_demo_data(Resources(prefix=self.settings.aws.name_prefix))
        python = sys.executable
        self._spawn(
            "emulators",
            [
                python,
                "-m",
                "worker.devstack.emulators",
                "--port",
                str(dev.emulator_port),
                "--state-dir",
                str(self.state_dir),
            ],
            env,
            dev.emulator_port,
        )
        self._spawn("worker", [python, "-m", "worker.cli", "worker"], env, self.settings.worker.health_port)
        self._spawn("api", [python, "-m", "worker.cli", "api"], env, self.settings.api.port)
        self._write_env_script(env)
        self._describe(database_url)

    def _write_env_script(self, env: dict[str, str]) -> None:
        """`source .stepwise/env.sh` gives another shell the settings the children got."""
        names = [k for k in sorted(env) if k.startswith(("STEPWISE_", "TEMPORAL_", "AWS_"))]
        lines = [f"export {name}={shlex.quote(env[name])}" for name in names]
        (self.state_dir / "env.sh").write_text("# written by `stepwise dev`\n" + "\n".join(lines) + "\n")

    def _child_env(self) -> dict[str, str]:
        dev = self.settings.dev
        env = dict(os.environ)
        for key, value in EMULATOR_ENV.items():
            env.setdefault(key, value)
        env.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{dev.aws_port}",
                # moto lacks Translate, Textract and Comprehend and never writes Transcribe's
                # transcript: the emulators fill exactly those gaps, reached through boto3's
                # per-service endpoints.
                "AWS_ENDPOINT_URL_TRANSLATE": f"http://127.0.0.1:{dev.emulator_port}/translate",
                "AWS_ENDPOINT_URL_TRANSCRIBE": f"http://127.0.0.1:{dev.emulator_port}/transcribe",
                "AWS_ENDPOINT_URL_TEXTRACT": f"http://127.0.0.1:{dev.emulator_port}/textract",
                "AWS_ENDPOINT_URL_COMPREHEND": f"http://127.0.0.1:{dev.emulator_port}/comprehend",
                "TEMPORAL_ADDRESS": f"127.0.0.1:{dev.temporal_port}",
                "STEPWISE_PARTNERS__PAYMENT_URL": f"http://127.0.0.1:{dev.emulator_port}/payments",
                "STEPWISE_PARTNERS__ENRICHMENT_URL": f"http://127.0.0.1:{dev.emulator_port}/enrichment",
                "STEPWISE_TELEMETRY__LOG_FORMAT": env.get("STEPWISE_TELEMETRY__LOG_FORMAT", "json"),
            }
        )
        if "STEPWISE_API__OPERATORS" not in env and "STEPWISE_API__OPERATOR_TOKEN_HASHES" not in env:
            env["STEPWISE_API__OPERATORS"] = json.dumps({DEV_OPERATOR: hash_token(DEV_OPERATOR_TOKEN)})
        env.setdefault("STEPWISE_API__TEMPORAL_UI_URL", f"http://127.0.0.1:{dev.temporal_ui_port}")
        if "STEPWISE_API__PARTNER_TOKEN_HASHES" not in env:
            env["STEPWISE_API__PARTNER_TOKEN_HASHES"] = json.dumps({DEV_PARTNER_ID: hash_token(DEV_PARTNER_TOKEN)})
        if "STEPWISE_POLLER__PARTNERS" not in env:
            # The dev partner's paged API is the emulator's, on loopback: private addresses are
            # allowed in the dev stack only (link-local ones, the metadata endpoint, never are).
            env["STEPWISE_POLLER__PARTNERS"] = json.dumps(
                {DEV_PARTNER_ID: [f"http://127.0.0.1:{dev.emulator_port}/partner-api/"]}
            )
            env.setdefault("STEPWISE_POLLER__ALLOW_PRIVATE_NETWORKS", "true")
        # The emulated Translate finishes a job in a few polls: poll it every few seconds, not 30.
        env.setdefault("STEPWISE_TRANSLATION__POLL_SECONDS", "3")
        env.setdefault("STEPWISE_TRANSLATION__SETTLE_SECONDS", "3")
        return env

    def _postgres_url(self) -> str:
        if self.settings.database_url is not None:
            return self.settings.require_database_url()
        url, self._postgres = start_embedded_postgres(self.state_dir / "pgdata")
        return url

    def _spawn(self, name: str, args: list[str], env: dict[str, str], port: int) -> None:
        self._run(ManagedProcess(name, args, self.state_dir / "logs" / f"{name}.log", env), port)

    def _run(self, process: ManagedProcess, port: int) -> None:
        self.supervisor.add(process.start())
        process.wait_for_port(port, timeout=90)

    def _describe(self, database_url: str) -> None:
        dev, api, worker = self.settings.dev, self.settings.api, self.settings.worker
        self.endpoints = [
            ("Temporal gRPC", f"127.0.0.1:{dev.temporal_port}"),
            ("Temporal Web UI", f"http://127.0.0.1:{dev.temporal_ui_port}"),
            ("HTTP API", f"http://127.0.0.1:{api.port}"),
            ("API docs", f"http://127.0.0.1:{api.port}/docs"),
            ("Operator console", f"http://127.0.0.1:{api.port}/console/"),
            (f"API operator token ({DEV_OPERATOR})", DEV_OPERATOR_TOKEN),
            (f"API partner token ({DEV_PARTNER_ID})", DEV_PARTNER_TOKEN),
            ("Worker metrics", f"http://127.0.0.1:{worker.metrics_port}/metrics"),
            ("Worker health", f"http://127.0.0.1:{worker.health_port}/readyz"),
            ("API metrics", f"http://127.0.0.1:{api.metrics_port}/metrics"),
            ("PostgreSQL", _redact(database_url)),
            ("AWS endpoint", f"http://127.0.0.1:{dev.aws_port}"),
            ("Partner emulators", f"http://127.0.0.1:{dev.emulator_port}"),
            ("Demo media", demo_media_uri(Resources(prefix=self.settings.aws.name_prefix))),
            ("Logs", str(self.state_dir / "logs")),
            ("CLI settings", f"source {self.state_dir / 'env.sh'}"),
        ]

    def table(self) -> str:
        """The endpoints, one per line, aligned."""
        width = max(len(name) for name, _ in self.endpoints)
        lines = [f"  {name.ljust(width)}  {value}" for name, value in self.endpoints]
        return "\n".join(["Stepwise is running:", *lines, "Press Ctrl-C to stop."])

    def stop(self) -> None:
        """Stop children in reverse order of start, then the embedded Postgres."""
        self.supervisor.stop()
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None

    def wait(self) -> None:
        """Keep the children running until Ctrl-C (SIGTERM is turned into one by ``stepwise dev``)."""
        try:
            while True:
                self.supervisor.check()
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


def _redact(url: str) -> str:
    if "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        scheme, rest = url.split("//", 1)
        user = rest.split(":", 1)[0]
        return f"{scheme}//{user}:***@{rest.split('@', 1)[1]}"
    return url


def interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: stop as Ctrl-C does, once (a second SIGTERM does not interrupt the stopping)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt
