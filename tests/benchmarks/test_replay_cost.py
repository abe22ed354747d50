"""CPU per replay of the committed booking history: workflow code held in memory against read from disk.

    .venv/bin/pytest tests/benchmarks/test_replay_cost.py -m benchmark -s -p no:randomly

A replay does the per-run work a worker does for every new execution, in one process and
without a server: the sandbox re-imports the workflow module (and its packages), the SDK
applies ``workflow.defn`` to the fresh class, and the activations run. The two arms differ
only in where that re-import finds the modules' code: the worker's held code objects
(``worker.speedups.bytecode``), or the path finder, which stats the files and reads and
unmarshals the bytecode every time. The arms alternate over the rounds; each prints min /
median / max of its rounds, and the ratio of the medians.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.benchmarks.support import spread
from tests.histories import committed_history
from worker import speedups
from worker.speedups.bytecode import HeldWorkflowCode
from workflows.booking.workflow import BookingWorkflow

ROUNDS = 5
REPLAYS = 100


async def _replays(replayer: Replayer, history: WorkflowHistory, count: int) -> None:
    for _ in range(count):
        await replayer.replay_workflow(history)  # raises on any non-determinism


@pytest.mark.benchmark
def test_replay_cpu_with_the_workflow_code_held_and_read_from_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    history = committed_history("booking_confirmed")
    replayer = Replayer(workflows=[BookingWorkflow], workflow_runner=speedups.workflow_runner(True))
    others = [finder for finder in sys.meta_path if not isinstance(finder, HeldWorkflowCode)]
    held = HeldWorkflowCode()
    held.hold(BookingWorkflow.__module__)
    arms = {"read from disk": others, "held in memory": [held, *others]}
    cpu_ms: dict[str, list[float]] = {name: [] for name in arms}

    asyncio.run(_replays(replayer, history, 20))  # warm-up: what a first run loads
    for _ in range(ROUNDS):
        for name, meta_path in arms.items():
            monkeypatch.setattr(sys, "meta_path", meta_path)
            started = time.process_time()  # every thread of this process: the SDK's core included
            asyncio.run(_replays(replayer, history, REPLAYS))
            cpu_ms[name].append((time.process_time() - started) / REPLAYS * 1000)
    monkeypatch.undo()

    median = {name: sorted(values)[len(values) // 2] for name, values in cpu_ms.items()}
    print(f"\nreplaying the committed booking, {REPLAYS} replays a round, {ROUNDS} rounds:")
    for name, values in cpu_ms.items():
        print(f"  {name:<15} {spread(values)} CPU-ms per replay (min / median / max)")
    print(f"  held / from disk: {median['held in memory'] / median['read from disk']:.2f} (medians)")
