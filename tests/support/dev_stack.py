"""`stepwise dev` as a subprocess of a test: its own state dir, every port free, killable.

The children of `stepwise dev` run in sessions of their own, so they are found (and
killed) through the process tree, not through a process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from worker.devstack.processes import free_port, port_open

PORT_SETTINGS = (
    "STEPWISE_DEV__TEMPORAL_PORT",
    "STEPWISE_DEV__TEMPORAL_UI_PORT",
    "STEPWISE_DEV__AWS_PORT",
    "STEPWISE_DEV__EMULATOR_PORT",
    "STEPWISE_WORKER__HEALTH_PORT",
    "STEPWISE_WORKER__METRICS_PORT",
    "STEPWISE_API__PORT",
    "STEPWISE_API__METRICS_PORT",
)
RUNNING = "Stepwise is running:"


def dev_env(state_dir: Path) -> dict[str, str]:
    """The environment of a `stepwise dev` on free ports with its own state dir (and the session's Postgres)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "TEMPORAL_"))}
    env.update({name: str(free_port()) for name in PORT_SETTINGS})
    env["STEPWISE_DEV__STATE_DIR"] = str(state_dir)
    return env


@dataclass
class DevStackProcess:
    """One run of `stepwise dev`."""

    env: dict[str, str]
    console: Path
    popen: subprocess.Popen[bytes]

    @classmethod
    def start(cls, env: dict[str, str], console: Path) -> DevStackProcess:
        with console.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", "dev"], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        return cls(env, console, popen)

    def port(self, setting: str) -> int:
        return int(self.env[setting])

    @property
    def ports(self) -> list[int]:
        return [self.port(name) for name in PORT_SETTINGS]

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float, count: int = 1) -> None:
        """Block until ``text`` appears ``count`` times on the console; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            if self.popen.poll() is not None:
                raise AssertionError(f"stepwise dev exited ({self.popen.returncode}):\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout:.0f}s:\n{self.output()[-3000:]}")
            time.sleep(0.2)

    def wait_until_running(self, timeout: float = 150.0) -> None:
        self.wait_for_output(RUNNING, timeout, count=self.output().count(RUNNING) + 1)

    def children(self) -> dict[str, psutil.Process]:
        """The supervised processes by role (``worker``, ``api``, ``aws``, ``emulators``, ``temporal``)."""
        found = {}
        for child in psutil.Process(self.popen.pid).children():
            line = " ".join(child.cmdline())
            for role, marker in (
                ("worker", "worker.cli worker"),
                ("api", "worker.cli api"),
                ("aws", "aws_server"),
                ("emulators", "devstack.emulators"),
                ("temporal", "start-dev"),
            ):
                if marker in line:
                    found[role] = child
        return found

    def kill_everything(self) -> None:
        """SIGKILL the supervisor and every process under it at once, as a power cut would."""
        everyone = [psutil.Process(self.popen.pid), *psutil.Process(self.popen.pid).children(recursive=True)]
        for process in everyone:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        psutil.wait_procs(everyone, timeout=15)
        self.popen.wait(5)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as Ctrl-C would; the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_everything()
            raise


def ports_in_use(ports: list[int], timeout: float = 10.0) -> list[int]:
    """The ports still accepting connections after ``timeout`` seconds of waiting for them to close."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [port for port in ports if port_open(port)]
        if not busy or time.monotonic() > deadline:
            return busy
        time.sleep(0.2)
