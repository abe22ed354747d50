"""ReconciliationCampaignWorkflow: reconcile many clients, a bounded number at a time.

The article migrated more than 80 client instances. Each client's reconciliation is a
child workflow with its own history (so the campaign's stays small), its own parked
steps and its own sign-off; the campaign only records how each one ended. An aborted
or failed client does not stop the others.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import STEP_ABORTED
    from activities.recon.contracts import (
        INVALID_RECONCILIATION,
        PIPELINE,
        CampaignInput,
        CampaignResult,
        ReconciliationInput,
        ReconciliationResult,
    )
    from workflows.common.step_control import StepControl, StepControlHandlers

from workflows.recon.reconciliation import ReconciliationWorkflow, reconciliation_id, tags


@workflow.defn
class ReconciliationCampaignWorkflow(StepControlHandlers):
    """One child reconciliation per client, at most ``max_parallel`` at once."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)
        self._outcomes: dict[str, str] = {}

    @workflow.query(name="recon.campaign")
    def outcomes(self) -> CampaignResult:
        """Outcome per reconciliation so far (``running`` until it ends)."""
        return CampaignResult(outcomes=dict(self._outcomes))

    @workflow.run
    async def run(self, request: CampaignInput) -> CampaignResult:
        if request.max_parallel < 1:
            raise ApplicationError("max_parallel: at least 1", type=INVALID_RECONCILIATION, non_retryable=True)
        limiter = asyncio.Semaphore(request.max_parallel)
        await asyncio.gather(*(self._reconcile(run, limiter) for run in request.runs))
        await self.steps.settle()
        return CampaignResult(outcomes=dict(self._outcomes))

    async def _reconcile(self, run: ReconciliationInput, limiter: asyncio.Semaphore) -> None:
        run_id = reconciliation_id(run.client_id, run.run)
        self._outcomes[run_id] = "running"
        try:
            result = await self.steps.run_child(
                f"client:{run.client_id}",
                ReconciliationWorkflow.run,
                run,
                id=run_id,
                on_exhausted="fail",
                limiter=limiter,
                search_attributes=tags(run_id),
                result_type=ReconciliationResult,
            )
        except ApplicationError as error:
            self._outcomes[run_id] = "aborted" if error.type == STEP_ABORTED else "failed"
            return
        except ChildWorkflowError:
            self._outcomes[run_id] = "failed"
            return
        self._outcomes[run_id] = result.outcome if result is not None else "skipped"
