"""PollerJobWorkflow: synchronise one partner API, page by page (the article's state machine).

    prepare (metadata -> one Pending task per page in Postgres)
      -> slice 0, 1, ... (child workflows of up to ``slice_pages`` pages each, one at a time:
                          fetch each page, payload to S3, pointer to SQS)
      -> await processing (the worker's queue consumer stores each page's records and marks its
                           task SuccessfullyCompleted or FailedToComplete; polled, no history)
      -> finish (counts, duration, failures: on the job row and as the result)

    a refused URL or unusable metadata -> job FAILED (row says why), nothing fetched
    an operator's abort of any step      -> job FAILED

Progress is never in history: ``GET /jobs/{id}`` counts the tasks in Postgres. A scheduled
run has no job id of its own; it takes its workflow id's (``poller-<job id>``).
"""

from __future__ import annotations

from dataclasses import replace

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.poller.policies as policies
    from activities.poller.contracts import (
        AWAIT_TASKS,
        FINISH_JOB,
        PIPELINE,
        POLLER_JOB_FAILED,
        PREPARE_JOB,
        RECORD_JOB_FAILURE,
        WORKFLOW_PREFIX,
        JobFailure,
        JobRef,
        JobRequest,
        JobSummary,
        SliceRequest,
        SliceResult,
        slice_workflow_id,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers
    from workflows.poller.slice import PollerSliceWorkflow


def slices(pages: int, size: int) -> list[tuple[int, int]]:
    """Pages 1..``pages`` cut into inclusive ranges of at most ``size``."""
    return [(first, min(first + size - 1, pages)) for first in range(1, pages + 1, size)]


@workflow.defn
class PollerJobWorkflow(StepControlHandlers):
    """One job: prepare, fetch every page in slices, wait for the consumer, summarise."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)

    @workflow.run
    async def run(self, request: JobRequest) -> JobSummary:
        job = request if request.job_id else replace(request, job_id=_own_job_id())
        async with at_exit(self.steps.settle):
            try:
                return await self._synchronise(job)
            except STEP_ERRORS as failure:
                raise await self._fail(job, failure) from None

    async def _synchronise(self, job: JobRequest) -> JobSummary:
        plan = await self.steps.run("prepare", PREPARE_JOB, job, policy=policies.PREPARE)
        for index, (first, last) in enumerate(slices(plan.pages, job.slice_pages)):
            await self.steps.run_child(
                f"slice:{index}",
                PollerSliceWorkflow.run,
                SliceRequest(job, job.job_id, first, last),
                id=slice_workflow_id(job.job_id, index),
                result_type=SliceResult,
                on_exhausted="fail",
                progress=True,
                search_attributes=workflow.info().typed_search_attributes,
            )
        ref = JobRef(job.job_id)
        await self.steps.run("await-processing", AWAIT_TASKS, ref, policy=policies.AWAIT_PROCESSING)
        return await self.steps.run("finish", FINISH_JOB, ref, policy=policies.FINISH)

    async def _fail(self, job: JobRequest, failure: BaseException) -> ApplicationError:
        """Record why the job stopped; the error the workflow then fails with."""
        reason = describe_failure(failure).reason
        step = self.steps.stopped_at() or "idle"
        await self.steps.run(
            "record-failure",
            RECORD_JOB_FAILURE,
            JobFailure(job.job_id, job.partner, job.url, f"{step}: {reason}", job.owner),
            policy=policies.SETTLE,
            progress=False,
        )
        return ApplicationError(
            f"poller job {job.job_id} of {job.partner} failed at {step}: {reason}",
            type=POLLER_JOB_FAILED,
            non_retryable=True,
        )


def _own_job_id() -> str:
    workflow_id = workflow.info().workflow_id
    return workflow_id[len(WORKFLOW_PREFIX) :] if workflow_id.startswith(WORKFLOW_PREFIX) else workflow_id
