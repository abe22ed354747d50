"""Shared benchmark plumbing: a dev server on a SQLite file with the WAL pragmas, and a
one-no-op-activity workflow as the baseline every throughput figure is divided by."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client

from worker.devstack.processes import ManagedProcess, free_port
from worker.devstack.temporal_server import dev_server_command


@activity.defn(name="benchmark_noop")
async def noop(value: int) -> int:
    """Does nothing."""
    return value


@workflow.defn(sandboxed=True)
class NoopWorkflow:
    """The baseline: one workflow task, one no-op activity."""

    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(noop, value, start_to_close_timeout=timedelta(seconds=10))


@asynccontextmanager
async def file_backed_dev_server() -> AsyncIterator[Client]:
    """`temporal server start-dev` on a fresh SQLite file with the WAL pragmas, as `make run` uses."""
    with tempfile.TemporaryDirectory() as state:
        port, ui_port = free_port(), free_port()
        server = ManagedProcess(
            "temporal", dev_server_command(Path(state) / "temporal.db", port, ui_port), Path(state) / "temporal.log"
        ).start()
        try:
            server.wait_for_port(port, timeout=60)
            yield await Client.connect(f"127.0.0.1:{port}")
        finally:
            server.stop()


@dataclass(frozen=True)
class Throughput:
    """Completions per second and process CPU milliseconds per completion."""

    per_second: float
    cpu_ms_each: float


async def measure(count: int, run_one: Callable[[int], Awaitable[object]], in_flight: int = 50) -> Throughput:
    """Run ``count`` workflows, ``in_flight`` at a time; wall time from first start to last completion.

    Bounding what is in flight keeps the measurement about throughput rather than about
    queueing for database connections and activity slots.
    """
    import asyncio

    slots = asyncio.Semaphore(in_flight)

    async def bounded(i: int) -> object:
        async with slots:
            return await run_one(i)

    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(bounded(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    return Throughput(per_second=count / elapsed, cpu_ms_each=cpu * 1000 / count)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@asynccontextmanager
async def out_of_process_partners(state_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """The AWS emulator and the partner emulators in their own processes (as in `make run`),
    so this process's CPU is the worker's alone. Yields (aws endpoint, emulator base URL)."""
    import sys

    from worker.devstack.aws import moto_process

    aws_port, emulator_port = free_port(), free_port()
    moto = moto_process(aws_port, state_dir)
    moto.env = {**(moto.env or {}), "MOTO_ENABLE_RECORDING": "False"}
    emulators = ManagedProcess(
        "emulators",
        [sys.executable, "-m", "worker.devstack.emulators", "--port", str(emulator_port)],
        state_dir / "emulators.log",
    )
    try:
        moto.start().wait_for_port(aws_port)
        emulators.start().wait_for_port(emulator_port)
        yield f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{emulator_port}"
    finally:
        emulators.stop()
        moto.stop()
