"""PollerSliceWorkflow: fetch pages ``first..last`` of a job, at most ``max_in_flight`` at once.

    for each page, bounded:  fetch:<page>  (Started -> S3 -> PayloadSaved -> SQS -> Enqueued)
                               |
                               +-- retries run out (5xx, 429, timeouts) -> parked: retry or skip
                               |                                           (skip -> FailedToComplete)
                               +-- refused (4xx, redirect, not the API) -> FailedToComplete

A slice is a child of the job so that each history stays bounded (about 4.3 events per
page); the job runs its slices one after another, so the bound on pages in flight holds for
the whole job. A parked page holds no slot: the other pages go on while it waits.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import workflows.poller.policies as policies
    from activities.poller.contracts import (
        FAIL_TASK,
        FETCH_PAGE,
        PIPELINE,
        PageTask,
        SliceRequest,
        SliceResult,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers


@workflow.defn
class PollerSliceWorkflow(StepControlHandlers):
    """The fetch side of a run of pages; the queue consumer finishes each one."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)

    @workflow.run
    async def run(self, request: SliceRequest) -> SliceResult:
        slots = asyncio.Semaphore(request.job.max_in_flight)
        pages = range(request.first_page, request.last_page + 1)
        async with at_exit(self.steps.settle):
            enqueued = await self.steps.run_all([self._page(request, page, slots) for page in pages])
        done = sum(enqueued)
        return SliceResult(enqueued=done, failed=len(enqueued) - done)

    async def _page(self, request: SliceRequest, page: int, slots: asyncio.Semaphore) -> bool:
        """True once the page is on the queue; False when its task ended FailedToComplete."""
        task = PageTask(request.job_id, request.job.partner, request.job.url, page)
        try:
            fetched = await self.steps.run_optional(
                f"fetch:{page}", FETCH_PAGE, task, policy=policies.FETCH_PAGE, limiter=slots
            )
        except STEP_ERRORS as failure:
            reason = describe_failure(failure)
            if reason.aborted:  # an operator's abort stops the slice (and the job)
                raise
            await self._fail(replace(task, reason=reason.reason))
            return False
        if fetched is None:  # skipped by an operator
            who = self.steps.skipped_by(f"fetch:{page}") or "an operator"
            await self._fail(replace(task, reason=f"skipped by {who}"))
            return False
        return True

    async def _fail(self, task: PageTask) -> None:
        await self.steps.run(f"fail:{task.page}", FAIL_TASK, task, policy=policies.SETTLE, progress=False)
