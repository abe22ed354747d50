"""`stepwise api` as a child process on free ports, and a Temporal dev server of a test's own.

Used where a test needs the API exactly as deployed (its lifespan, its Temporal client,
its metrics port), several API processes at once, or a Temporal server it may stop.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from worker.devstack.processes import ManagedProcess, free_port
from worker.devstack.temporal_server import dev_server_command
from worker.settings import Settings, hash_token

OPERATOR_TOKEN = "operator-secret"
PARTNER_TOKENS = {"acme": "acme-secret", "globex": "globex-secret"}


@dataclass
class ApiProcess:
    """A running `stepwise api`."""

    url: str
    metrics_url: str
    process: ManagedProcess


def api_env(settings: Settings, temporal_address: str, **extra: str) -> dict[str, str]:
    """The environment of an API process pointed at the test stack, with the test tokens."""
    env = dict(os.environ)
    env.update(
        {
            "TEMPORAL_ADDRESS": temporal_address,
            "STEPWISE_DATABASE_URL": settings.require_database_url(),
            "STEPWISE_WORKER__TASK_QUEUE": settings.worker.task_queue,
            "STEPWISE_TELEMETRY__LOG_FORMAT": "json",
            "STEPWISE_API__OPERATOR_TOKEN_HASHES": json.dumps([hash_token(OPERATOR_TOKEN)]),
            "STEPWISE_API__PARTNER_TOKEN_HASHES": json.dumps({p: hash_token(t) for p, t in PARTNER_TOKENS.items()}),
        }
    )
    env.update(extra)
    return env


@contextmanager
def running_api(env: dict[str, str], log_dir: Path, name: str = "api") -> Iterator[ApiProcess]:
    """`stepwise api` on free API and metrics ports until the block ends."""
    port, metrics_port = free_port(), free_port()
    env = {**env, "STEPWISE_API__PORT": str(port), "STEPWISE_API__METRICS_PORT": str(metrics_port)}
    process = ManagedProcess(name, [sys.executable, "-m", "worker.cli", "api"], log_dir / f"{name}.log", env)
    process.start()
    try:
        process.wait_for_port(port, timeout=60)
        yield ApiProcess(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics", process)
    finally:
        process.stop()


@contextmanager
def own_temporal_server(state_dir: Path) -> Iterator[tuple[str, ManagedProcess]]:
    """A `temporal server start-dev` on free ports: (address, process), stopped at the end."""
    port, ui_port = free_port(), free_port()
    server = ManagedProcess(
        "temporal", dev_server_command(state_dir / "temporal.db", port, ui_port), state_dir / "t.log"
    )
    server.start()
    try:
        server.wait_for_port(port, timeout=60)
        yield f"127.0.0.1:{port}", server
    finally:
        server.stop()


def operator_client(api: ApiProcess) -> httpx.Client:
    """An HTTP client of the API process with the operator's token."""
    return httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=10)
