"""Workflows that wait for a decision, then run one no-op step (benchmarks only).

``BenchGateWorkflow`` waits at a step-control gate: used to time a decision (the update's
arrival to the start of the next step) and to measure what a waiting execution costs the
worker in memory. ``BareGateWorkflow`` is the same wait and step on bare Temporal (an update
that sets a flag, no audit, no step control), timed in the same run as the floor.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import ActivityRef
    from workflows.common.retry_shapes import once
    from workflows.common.step_control import StepControl, StepControlHandlers
    from workflows.common.step_policy import StepPolicy

BENCH_NOOP = ActivityRef("bench_noop", int, int)
"""The baseline's no-op activity (``tests.benchmarks.noop_workflow.noop``)."""
NEXT_STEP = StepPolicy(start_to_close=timedelta(seconds=10), retry=once())


@workflow.defn
class BenchGateWorkflow(StepControlHandlers):
    """Waits at gate ``approval``; once approved, runs step ``next`` (the no-op)."""

    def __init__(self) -> None:
        self.steps = StepControl("bench")

    @workflow.run
    async def run(self, value: int) -> int:
        await self.steps.gate("approval", subject="bench gate", body="approve to continue")
        result = await self.steps.run("next", BENCH_NOOP, value, policy=NEXT_STEP)
        await self.steps.settle()
        return result


@workflow.defn
class BareGateWorkflow:
    """Waits until the ``approve`` update arrives, then runs the same no-op activity."""

    def __init__(self) -> None:
        self._approved_by: str | None = None

    @workflow.run
    async def run(self, value: int) -> int:
        await workflow.wait_condition(lambda: self._approved_by is not None)
        result: int = await workflow.execute_activity(
            BENCH_NOOP.name,
            value,
            result_type=int,
            start_to_close_timeout=NEXT_STEP.start_to_close,
            retry_policy=NEXT_STEP.retry,
        )
        return result

    @workflow.update
    def approve(self, operator: str) -> str:
        self._approved_by = operator
        return f"approved by {operator}"

    @workflow.query
    def waiting(self) -> bool:
        return self._approved_by is None
