"""Shared benchmark plumbing: a dev server on a SQLite file with the WAL pragmas, the
throughput measurement, and the partner emulators out of process. The baseline every
throughput figure is divided by lives in ``noop_workflow``."""

from __future__ import annotations

import compileall
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client

from worker.devstack.processes import ManagedProcess, free_port
from worker.devstack.temporal_server import dev_server_command
from worker.temporal import client_interceptors

SIDE_PROCESSES: dict[str, int] = {}
"""The processes besides the worker whose CPU a measurement reports (name -> pid)."""


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
            SIDE_PROCESSES["Temporal server"] = _pid(server)
            yield await _connect_when_healthy(f"127.0.0.1:{port}")
        finally:
            SIDE_PROCESSES.pop("Temporal server", None)
            server.stop()


async def _connect_when_healthy(address: str, timeout: float = 60.0) -> Client:
    """The port opens before the frontend reports healthy; retry until it does."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        try:
            # The worker gets what `stepwise worker` gets from its client.
            return await Client.connect(address, interceptors=client_interceptors())
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Throughput:
    """Completions per second and process CPU milliseconds per completion."""

    per_second: float
    cpu_ms_each: float
    cpu_ms_by_thread: dict[str, float] = field(default_factory=dict)
    """CPU ms per completion by kind of thread (event loop, workflow tasks, AWS calls, Temporal core)."""
    cpu_ms_by_process: dict[str, float] = field(default_factory=dict)
    """CPU ms per completion of the other processes: :data:`SIDE_PROCESSES`, PostgreSQL and the load driver."""

    def thread_breakdown(self) -> str:
        """``event loop 25.1, workflow tasks 5.0, ...``"""
        return ", ".join(f"{name} {ms:.1f}" for name, ms in self.cpu_ms_by_thread.items())

    def process_breakdown(self) -> str:
        """``Temporal server 31.0, AWS emulator 11.2, ...``"""
        return ", ".join(f"{name} {ms:.1f}" for name, ms in self.cpu_ms_by_process.items())


async def measure_driven(
    client: Client, task_queue: str, workflow: str, count: int, *, in_flight: int = 50, flight: str | None = None
) -> Throughput:
    """Run ``count`` workflows, ``in_flight`` at a time, started from a separate process.

    Wall time runs from the first start to the last result (``load_driver`` measures it);
    bounding what is in flight keeps the figure about throughput rather than queueing.
    This process runs only the worker, so its CPU per completion is the worker's own.
    """
    import asyncio
    import json
    import sys

    args = _driver_args(client, task_queue, workflow, count, in_flight, flight)
    cpu_before, threads_before = _cpu_seconds(), _thread_cpu_seconds()
    processes_before = {name: _process_cpu_seconds(pid) for name, pid in SIDE_PROCESSES.items()}
    postgres_before = _postgres_cpu_seconds()
    driver_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
    driver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.load_driver", *args, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await driver.communicate()
    cpu = _cpu_seconds() - cpu_before
    by_thread = _thread_cpu_seconds()
    by_process = {name: _process_cpu_seconds(SIDE_PROCESSES[name]) - spent for name, spent in processes_before.items()}
    by_process["PostgreSQL"] = _postgres_cpu_seconds() - postgres_before
    by_process["load driver"] = _cpu_seconds(resource.RUSAGE_CHILDREN) - driver_before  # the one child reaped
    if driver.returncode != 0:
        raise RuntimeError(f"load driver failed ({driver.returncode}) for {workflow}")
    seconds = json.loads(output.decode().strip().splitlines()[-1])["seconds"]
    per_thread = {
        kind: (spent - threads_before.get(kind, 0.0)) * 1000 / count for kind, spent in sorted(by_thread.items())
    }
    return Throughput(
        count / seconds,
        cpu * 1000 / count,
        {k: v for k, v in per_thread.items() if v >= 0.05},
        {name: spent * 1000 / count for name, spent in by_process.items()},
    )


def _driver_args(
    client: Client, task_queue: str, workflow: str, count: int, in_flight: int, flight: str | None
) -> list[str]:
    """The ``load_driver`` command-line arguments for a load."""
    args = ["--address", client.service_client.config.target_host, "--task-queue", task_queue]
    args += ["--workflow", workflow, "--count", str(count), "--in-flight", str(in_flight)]
    return args + (["--flight", flight] if flight else [])


def median_round(rounds: list[Throughput]) -> Throughput:
    """The round with the median throughput (of an odd number of rounds)."""
    return sorted(rounds, key=lambda t: t.per_second)[len(rounds) // 2]


def _thread_kind(name: str) -> str:
    if name == "MainThread":
        return "event loop"
    if name.startswith("temporal_workflow"):
        return "workflow tasks"
    if name.startswith("asyncio"):
        return "AWS calls (to_thread)"
    return "Temporal core and other"


def _thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this process's live threads, by kind (Linux /proc)."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    spent: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        kind = _thread_kind(names.get(int(tid), ""))
        spent[kind] = spent.get(kind, 0.0) + _stat_cpu_seconds(f"/proc/self/task/{tid}/stat")
    return spent


def _process_cpu_seconds(pid: int) -> float:
    """CPU seconds so far of a process and its threads (Linux /proc); 0 once it is gone."""
    return _stat_cpu_seconds(f"/proc/{pid}/stat")


def _stat_cpu_seconds(stat_path: str) -> float:
    """User + system CPU seconds from a /proc ``stat`` file; 0 if the process or thread is gone."""
    try:
        with open(stat_path) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """CPU seconds so far of every PostgreSQL process on this machine (server and backends).

    The saga's steps run on Postgres and the baseline's do not, so its CPU is part of what
    a saga costs; nothing else uses the database while a benchmark runs.
    """
    spent = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        spent += _process_cpu_seconds(int(pid))
    return spent


def _pid(process: ManagedProcess) -> int:
    assert process.process is not None, f"{process.name} is not running"
    return process.process.pid


def _cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def out_of_process_partners(state_dir: Path) -> Iterator[tuple[str, str]]:
    """The AWS emulator and the partner emulators in their own processes (as in `make run`),
    so this process's CPU is the worker's alone. Yields (aws endpoint, emulator base URL)."""
    import sys

    from worker.devstack.aws import moto_process

    aws_port, emulator_port = free_port(), free_port()
    moto = moto_process(aws_port, state_dir, persist=False)
    emulators = ManagedProcess(
        "emulators",
        [sys.executable, "-m", "worker.devstack.emulators", "--port", str(emulator_port)],
        state_dir / "emulators.log",
    )
    try:
        moto.start().wait_for_port(aws_port)
        emulators.start().wait_for_port(emulator_port)
        SIDE_PROCESSES.update({"AWS emulator": _pid(moto), "partner emulators": _pid(emulators)})
        yield f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{emulator_port}"
    finally:
        SIDE_PROCESSES.pop("AWS emulator", None)
        SIDE_PROCESSES.pop("partner emulators", None)
        emulators.stop()
        moto.stop()


@dataclass(frozen=True)
class BenchStack:
    """A worker running every pipeline (and the benchmarks' own workflows) on its own stack."""

    client: Client
    task_queue: str
    resources: Any
    deps: Any
    worker: Any
    """The ``temporalio.worker.Worker``."""


@asynccontextmanager
async def pipeline_worker(
    sessions: Any,
    partner_http: Any,
    monkeypatch: Any,
    *,
    max_cached_workflows: int = 1000,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable[..., Any]] = (),
) -> AsyncIterator[BenchStack]:
    """The file-backed dev server, the emulators out of process, and an in-process worker with
    the real activities, the benchmarks' workflows and the worker's own sandbox runner."""
    import uuid

    from temporalio.worker import Worker

    from activities.catalog import build_activities
    from activities.common.aws import AwsClients
    from activities.common.deps import ActivityDeps, PartnerEndpoints
    from activities.common.resources import Resources
    from tests.benchmarks.gate_workflow import BareGateWorkflow, BenchGateWorkflow
    from tests.benchmarks.noop_workflow import BenchNoopWorkflow, noop
    from worker import speedups
    from worker.devstack.aws import apply_resources
    from workflows.catalog import WORKFLOWS

    with tempfile.TemporaryDirectory() as state, out_of_process_partners(Path(state)) as (aws_endpoint, emulator_url):
        async with file_backed_dev_server() as client:
            monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
            resources = Resources()
            apply_resources(resources)
            deps = ActivityDeps(
                aws=AwsClients(),
                sessions=sessions,
                resources=resources,
                client=client,
                http=partner_http,
                partners=PartnerEndpoints(f"{emulator_url}/payments", f"{emulator_url}/enrichment"),
            )
            queue = f"bench-{uuid.uuid4()}"
            registered = [*WORKFLOWS, BenchNoopWorkflow, BenchGateWorkflow, BareGateWorkflow, *workflows]
            speedups.before_polling(registered, enabled=True)  # as `stepwise worker` does, speed-ups on
            speedups.once_started(enabled=True)
            worker = Worker(
                client,
                task_queue=queue,
                workflows=registered,
                workflow_runner=speedups.workflow_runner(enabled=True),
                activities=[*build_activities(deps), noop, *activities],
                max_cached_workflows=max_cached_workflows,
            )
            async with worker:
                yield BenchStack(client, queue, resources, deps, worker)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 for p50, 0.99 for p99)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: list[float]) -> str:
    """``min / median / max`` of a benchmark's rounds."""
    ordered = sorted(values)
    return f"{ordered[0]:.1f} / {ordered[len(ordered) // 2]:.1f} / {ordered[-1]:.1f}"


def rss_mib() -> float:
    """This process's resident set size, MiB (Linux /proc)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@asynccontextmanager
async def background_load(
    client: Client, task_queue: str, workflow: str, *, in_flight: int = 50, flight: str | None = None
) -> AsyncIterator[None]:
    """The load driver running ``workflow`` at ``in_flight`` until the block ends (then killed)."""
    import asyncio
    import sys

    args = _driver_args(client, task_queue, workflow, 1_000_000, in_flight, flight)
    driver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.load_driver", *args, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        await asyncio.sleep(2.0)  # the driver connects and the load reaches its pace
        assert driver.returncode is None, f"the load driver stopped ({driver.returncode})"
        yield
        assert driver.returncode is None, f"the load driver stopped ({driver.returncode}) before the block ended"
    finally:
        if driver.returncode is None:
            driver.kill()
        await driver.wait()


async def baseline_per_second(client: Client, task_queue: str, count: int, in_flight: int) -> float:
    """The baseline: ``count`` one-no-op-activity workflows, ``in_flight`` at a time, from this
    process, on a worker of their own; workflows completed per second."""
    import asyncio
    import uuid

    from temporalio.worker import Worker

    from tests.benchmarks.noop_workflow import BenchNoopWorkflow, noop

    slots = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with slots:
            await client.execute_workflow(
                BenchNoopWorkflow.run, i, id=f"bench-noop-{uuid.uuid4()}", task_queue=task_queue
            )

    # The SDK's stock worker: its per-run re-import reads the module's bytecode from disk, so
    # write it (it would compile the source on every run where bytecode is not written).
    compileall.compile_file(str(sys.modules[BenchNoopWorkflow.__module__].__file__), quiet=2)
    async with Worker(client, task_queue=task_queue, workflows=[BenchNoopWorkflow], activities=[noop]):
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)
