"""How fast a decision resumes a waiting execution, and what a waiting execution costs in memory.

    make bench      (or: .venv/bin/pytest tests/benchmarks/test_decision_latency.py -m benchmark -s)

Decision -> resume: executions wait at a step-control gate; the benchmark approves each by
the ``stepwise.decide`` update and reads, from the execution's history, when the next step's
activity started. Two windows are reported:

* **accepted -> next step**: both ends are history timestamps (the update's
  ``WorkflowExecutionUpdateAccepted`` event and the next step's ``ActivityTaskStarted``),
  written by the one Temporal server: the worker's share (validator, scheduling the
  decision's audit row, waking the step, scheduling the next one) plus the server's dispatch;
* **update call -> next step**: from the moment this process sends the update to the same
  ``ActivityTaskStarted`` timestamp (both read from this machine's clock, in two processes);
  it adds the update's trip to the worker;
* **update call -> answer**: what the operator's client waits for, on this process's clock
  (Stepwise answers once the decision's audit row is written).

Each is measured idle (one decision at a time, nothing else running) and under load (the
booking saga driven at 50 in flight meanwhile), over three rounds: min / median / max of
each round's p50 and p99. In the same rounds, alternating with the gate's decisions, the
same wait and step on bare Temporal (``BareGateWorkflow``: an update sets a flag, then the
no-op activity) give the floor this machine and server set; Stepwise's cost is the
difference (its validator, scheduling the decision's audit row, step control's bookkeeping).

Memory: 1,000 executions are started and left waiting at the gate; the worker's resident
memory (this process runs only the worker besides the benchmark's client) is read before
they start and once every one of them waits, then they are all approved.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from activities.common.contracts import DECIDE_UPDATE, STEPS_QUERY, DecisionOutcome, StepControlStatus, StepDecision
from tests.benchmarks.gate_workflow import BENCH_NOOP, BareGateWorkflow, BenchGateWorkflow
from tests.benchmarks.support import (
    BenchStack,
    background_load,
    percentile,
    pipeline_worker,
    rss_mib,
    spread,
)
from tests.e2e.booking_support import new_flight

ROUNDS = 3
DECISIONS = 30
"""Decisions per round and condition."""
WAITING = 1000
"""Executions left waiting for the memory figure."""
SEATS = 100_000
"""The load's flight: the booking load runs until a round's decisions are done (then it is killed)."""


async def _waiting(handle: WorkflowHandle[Any, Any], *, bare: bool = False, timeout: float = 120) -> None:
    """Until the gate (or the bare workflow's wait) answers its query as waiting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bare:
            waiting = await handle.query(BareGateWorkflow.waiting)
        else:
            waiting = "approval" in (await handle.query(STEPS_QUERY, result_type=StepControlStatus)).waiting
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never waited")


async def _start_waiting(
    stack: BenchStack, count: int, in_flight: int = 50, *, bare: bool = False
) -> list[WorkflowHandle[Any, Any]]:
    slots = asyncio.Semaphore(in_flight)

    run, prefix = (BareGateWorkflow.run, "bench-bare") if bare else (BenchGateWorkflow.run, "bench-gate")

    async def one(i: int) -> WorkflowHandle[Any, Any]:
        async with slots:
            handle = await stack.client.start_workflow(
                run, i, id=f"{prefix}-{uuid.uuid4()}", task_queue=stack.task_queue
            )
            await _waiting(handle, bare=bare)
            return handle

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _approve(handle: WorkflowHandle[Any, Any]) -> None:
    decision = StepDecision("approval", "approve", operator="bench", reason="benchmark")
    await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)


async def _latencies(handle: WorkflowHandle[Any, Any], *, bare: bool = False) -> tuple[float, float, float]:
    """(accepted -> next step, call -> next step, call -> answer) in ms for one decision."""
    called = time.time()
    if bare:
        await handle.execute_update(BareGateWorkflow.approve, "bench")
    else:
        await _approve(handle)
    answered = time.time()
    await handle.result()
    accepted = started = None
    noop_scheduled: set[int] = set()
    async for event in handle.fetch_history_events():
        seconds = event.event_time.ToNanoseconds() / 1e9
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED and accepted is None:
            accepted = seconds
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and _is_noop(event):
            noop_scheduled.add(event.event_id)
        elif (
            kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and event.activity_task_started_event_attributes.scheduled_event_id in noop_scheduled
        ):
            started = seconds
    assert accepted is not None and started is not None, f"{handle.id}: no accepted update or next step"
    return (started - accepted) * 1000, (started - called) * 1000, (answered - called) * 1000


def _is_noop(event: Any) -> bool:
    return bool(event.activity_task_scheduled_event_attributes.activity_type.name == BENCH_NOOP.name)


Windows = tuple[list[float], list[float], list[float]]
"""(accepted -> next step, update call -> next step, update call -> answer) in ms, one entry per decision."""


async def _decide_all(stack: BenchStack, *, pause: float = 0.0) -> tuple[Windows, Windows]:
    """One round: the gate's decisions and the bare workflow's, alternating, one at a time."""
    gates = await _start_waiting(stack, DECISIONS)
    bares = await _start_waiting(stack, DECISIONS, bare=True)
    stepwise, bare = [], []
    for gate, bare_handle in zip(gates, bares, strict=True):
        stepwise.append(await _latencies(gate))
        await asyncio.sleep(pause)
        bare.append(await _latencies(bare_handle, bare=True))
        await asyncio.sleep(pause)
    return _windows(stepwise), _windows(bare)


def _windows(decisions: list[tuple[float, float, float]]) -> Windows:
    return [d[0] for d in decisions], [d[1] for d in decisions], [d[2] for d in decisions]


async def _round(stack: BenchStack) -> tuple[Windows, Windows]:
    return await _decide_all(stack)


async def _with_load(stack: BenchStack, flight: str) -> tuple[Windows, Windows]:
    async with background_load(stack.client, stack.task_queue, "booking", flight=flight):
        return await _decide_all(stack, pause=0.05)


def _report(title: str, rounds: list[tuple[Windows, Windows]]) -> None:
    for index, window in enumerate(("accepted -> next step", "update call -> next step")):
        p50s = [percentile(r[0][index], 0.5) for r in rounds]
        p99s = [percentile(r[0][index], 0.99) for r in rounds]
        print(f"  {title:<10} {window:<26} p50 {spread(p50s)} ms   p99 {spread(p99s)} ms")
    bare_p50s = [percentile(r[1][1], 0.5) for r in rounds]
    bare_p99s = [percentile(r[1][1], 0.99) for r in rounds]
    added = [percentile(r[0][1], 0.5) - percentile(r[1][1], 0.5) for r in rounds]
    print(f"  {title:<10} {'bare Temporal, call -> next':<26} p50 {spread(bare_p50s)} ms   p99 {spread(bare_p99s)} ms")
    print(f"  {title:<10} {'Stepwise adds (p50)':<26} {spread(added)} ms")
    for who, side in (("update call -> answer", 0), ("bare Temporal, -> answer", 1)):
        p50s = [percentile(r[side][2], 0.5) for r in rounds]
        p99s = [percentile(r[side][2], 0.99) for r in rounds]
        print(f"  {title:<10} {who:<26} p50 {spread(p50s)} ms   p99 {spread(p99s)} ms")


@pytest.mark.benchmark
@pytest.mark.timeout(1500)
async def test_decision_to_resume_latency_idle_and_under_load(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pipeline_worker(sessions, partner_http, monkeypatch) as stack:
        flight = new_flight(stack.resources, seats=SEATS)
        await _round(stack)  # warm-up: clients, connection pools, compiled modules
        idle = [await _round(stack) for _ in range(ROUNDS)]
        loaded = [await _with_load(stack, flight) for _ in range(ROUNDS)]
    print(f"\ndecision -> resume, {DECISIONS} decisions per round, {ROUNDS} rounds (min / median / max of rounds):")
    _report("idle", idle)
    _report("under load", loaded)
    print("  targets: p50 <= 15 ms, p99 <= 50 ms, idle and under load")


async def _all_waiting(stack: BenchStack, batch: str, count: int, timeout: float = 600) -> None:
    """Until visibility shows ``count`` executions of ``batch`` waiting at the gate (one query a second)."""
    query = f"WorkflowId STARTS_WITH '{batch}' AND StepwiseParkedStep = 'approval' AND ExecutionStatus = 'Running'"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await stack.client.count_workflows(query)).count >= count:
            return
        await asyncio.sleep(1.0)
    raise AssertionError(f"fewer than {count} of {batch} waiting after {timeout:.0f}s")


async def _memory_round(stack: BenchStack) -> tuple[float, float]:
    gc.collect()
    before = rss_mib()
    batch = f"bench-memory-{uuid.uuid4().hex[:8]}-"
    slots = asyncio.Semaphore(100)

    async def start(i: int) -> WorkflowHandle[Any, Any]:
        async with slots:
            return await stack.client.start_workflow(
                BenchGateWorkflow.run, i, id=f"{batch}{i}", task_queue=stack.task_queue
            )

    handles = await asyncio.gather(*(start(i) for i in range(WAITING)))
    await _all_waiting(stack, batch, WAITING)
    gc.collect()
    after = rss_mib()
    release_slots = asyncio.Semaphore(50)

    async def release(handle: WorkflowHandle[Any, Any]) -> None:
        async with release_slots:
            await _approve(handle)
            await handle.result()

    await asyncio.gather(*(release(handle) for handle in handles))
    return before, after


@pytest.mark.benchmark
@pytest.mark.timeout(1500)
async def test_worker_memory_per_thousand_waiting_executions(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pipeline_worker(sessions, partner_http, monkeypatch, max_cached_workflows=WAITING) as stack:
        await _start_waiting(stack, 20)  # warm-up (left waiting: they are part of 'before')
        rounds = [await _memory_round(stack) for _ in range(ROUNDS)]
    growth = [(after - before) * 1000 / WAITING for before, after in rounds]
    print(
        f"\nworker RSS with {WAITING} executions waiting at a gate (sticky cache holds up to {WAITING}):"
        f"\n  before, MiB:              {spread([r[0] for r in rounds])}"
        f"\n  with them waiting, MiB:   {spread([r[1] for r in rounds])}"
        f"\n  MiB per 1,000 waiting:    {spread(growth)}   (target <= 100; min / median / max of {ROUNDS} rounds)"
    )
