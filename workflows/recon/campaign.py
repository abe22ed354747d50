"""ReconciliationCampaignWorkflow: reconcile many clients, a bounded number at a time.

The article migrated more than 80 client instances. Each client's reconciliation is a
child workflow with its own history (so the campaign's stays small), its own parked
steps and its own sign-off; the campaign only records how each one ended. An aborted
or failed client does not stop the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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
    from workflows.common.cleanup import at_exit
    from workflows.common.step_control import StepControl, StepControlHandlers
    from workflows.recon.reconciliation import CAMPAIGN_SLOT_SIGNAL, ReconciliationWorkflow, reconciliation_id, tags


@workflow.defn
class ReconciliationCampaignWorkflow(StepControlHandlers):
    """One child reconciliation per client, at most ``max_parallel`` at once."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)
        self._outcomes: dict[str, str] = {}
        self._free_slot: dict[str, Callable[[], None]] = {}

    @workflow.signal(name=CAMPAIGN_SLOT_SIGNAL)
    def awaiting_signoff(self, run_id: str) -> None:
        """A client waits for a human: its slot goes to the next client (it stays ``awaiting-signoff``)."""
        if self._outcomes.get(run_id) == "running":
            self._outcomes[run_id] = "awaiting-signoff"
        free = self._free_slot.pop(run_id, None)
        if free is not None:
            free()

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
        self._outcomes[run_id] = "queued"
        # The slot is held from the child's start until it ends or starts waiting for sign-off
        # (its signal frees it), so clients waiting for a human never stall the campaign.
        await limiter.acquire()
        freed = False

        def free() -> None:
            nonlocal freed
            if not freed:
                freed = True
                limiter.release()

        self._free_slot[run_id] = free
        self._outcomes[run_id] = "running"

        def release() -> None:
            self._free_slot.pop(run_id, None)
            free()

        async with at_exit(release):
            self._outcomes[run_id] = await self._child(run, run_id)

    async def _child(self, run: ReconciliationInput, run_id: str) -> str:
        """Run one client's reconciliation; its outcome."""
        try:
            result = await self.steps.run_child(
                f"client:{run.client_id}",
                ReconciliationWorkflow.run,
                run,
                id=run_id,
                on_exhausted="fail",
                search_attributes=tags(run_id),
                result_type=ReconciliationResult,
            )
        except ApplicationError as error:
            return "aborted" if error.type == STEP_ABORTED else "failed"
        except ChildWorkflowError:
            return "failed"
        return result.outcome if result is not None else "skipped"
