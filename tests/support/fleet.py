"""A fleet of real `stepwise worker` processes on one task queue, for killing and replacing.

Each member gets its own free health and metrics ports and logs to one file per member
under the test's directory; the fleet waits for ``/readyz`` before it counts a member as
started. Kills are SIGKILL: no drain, no goodbye, the way a node or an OOM killer ends a pod.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.processes import start_worker
from worker.devstack.processes import free_port


class WorkerFleet:
    """Worker processes started from one environment; ``kill_oldest`` plus ``start_one`` rotates them."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env = env
        self._log_dir = log_dir
        self.members: list[tuple[subprocess.Popen[bytes], int]] = []
        """Running processes with their health ports, oldest first."""
        self.started = 0
        self.killed = 0

    async def start_one(self, *, ready_within: float = 60) -> subprocess.Popen[bytes]:
        """Start a member and wait until it answers ``/readyz`` with 200."""
        health_port = free_port()
        env = {
            **self._env,
            "STEPWISE_WORKER__HEALTH_PORT": str(health_port),
            "STEPWISE_WORKER__METRICS_PORT": str(free_port()),
        }
        self.started += 1
        process = start_worker(env, str(self.log_path(self.started)))
        self.members.append((process, health_port))
        await _until_ready(process, health_port, ready_within, self.log_path(self.started))
        return process

    async def start(self, count: int) -> None:
        """Start ``count`` members, all ready when this returns."""
        for _ in range(count):
            await self.start_one()

    async def kill_oldest(self) -> None:
        """SIGKILL the longest-running member and reap it."""
        process, _ = self.members.pop(0)
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)
        self.killed += 1

    def log_path(self, number: int) -> Path:
        """The log file of the ``number``-th member started (1-based)."""
        return self._log_dir / f"worker-{number}.log"

    def log_tail(self, chars: int = 3000) -> str:
        """The end of every member's log, for failure messages."""
        parts = []
        for number in range(1, self.started + 1):
            path = self.log_path(number)
            if path.exists():
                parts.append(f"--- worker {number} ---\n{path.read_text()[-chars:]}")
        return "\n".join(parts)

    def stop_all(self) -> None:
        """Kill whatever is still running (test teardown)."""
        for process, _ in self.members:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        self.members.clear()


async def _until_ready(process: subprocess.Popen[bytes], health_port: int, within: float, log: Path) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if (await http.get(f"http://127.0.0.1:{health_port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"worker not ready within {within:.0f}s:\n{log.read_text()[-3000:]}")
