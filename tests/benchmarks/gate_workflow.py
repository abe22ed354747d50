"""A workflow that waits at a step-control gate, then runs one no-op step (benchmarks only).

Used to time a decision (the update's arrival to the start of the next step) and to measure
what a waiting execution costs the worker in memory.
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
