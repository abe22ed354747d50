"""A step-controlled workflow that continues as new before its step (testing the notice keys, not a product)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from temporalio import workflow

from tests.workflows.common.step_probe import PROBE_POLICY, PROBE_STEP, ProbeCall
from workflows.common.cleanup import at_exit
from workflows.common.step_control import StepControl, StepControlHandlers


@dataclass(frozen=True)
class ContinuingInput:
    """Continue as new ``continues`` times, then run step ``step`` (it parks when it fails)."""

    step: str
    continues: int = 1
    generation: int = 0


@dataclass(frozen=True)
class ContinuingResult:
    """What the last run saw of its identity."""

    run_id: str
    first_execution_run_id: str
    continued_run_id: str | None


@workflow.defn
class ContinuingProbeWorkflow(StepControlHandlers):
    """Continues as new, then runs one step under step control."""

    def __init__(self) -> None:
        self.steps = StepControl("probe")

    @workflow.run
    async def run(self, request: ContinuingInput) -> ContinuingResult:
        if request.generation < request.continues:
            workflow.continue_as_new(replace(request, generation=request.generation + 1))
        policy = replace(PROBE_POLICY, on_exhausted="park", on_non_retryable="park")
        async with at_exit(self.steps.settle):
            await self.steps.run_optional(request.step, PROBE_STEP, ProbeCall(request.step), policy=policy)
        info = workflow.info()
        return ContinuingResult(info.run_id, info.first_execution_run_id, info.continued_run_id)
