"""B2BBatchWorkflow: one partner file, from S3 object to batch report.

    register -> split (stream, validate, chunks to S3) -> dispatch chunk 0..n-1 -> report
                   |
                   +-- file unusable (not well-formed, DTD/entities, bad encoding)
                       -> quarantined whole by the split; report QUARANTINED, nothing started
    a step that exhausts its retries -> parked for an operator (step control: retry, skip,
                                        abort); a non-retryable error or an abort -> batch
                                        row FAILED with the step and reason, workflow fails
                                        with ``BatchFailed``

History holds only references: the split returns a chunk count, each dispatch step one
chunk index and a handful of counts, so a file of any size costs about six events per
chunk. Past ``history_budget`` events (or when the server suggests it) the workflow
continues as new, carrying its progress, so no execution nears the 10,240-event warning.
"""

from __future__ import annotations

from dataclasses import replace

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.b2b.policies as policies
    from activities.b2b.contracts import (
        BATCH_FAILED,
        DISPATCH_CHUNK,
        FAIL_BATCH,
        PIPELINE,
        REGISTER_BATCH,
        REPORT_BATCH,
        SPLIT_BATCH,
        BatchFailure,
        BatchProgress,
        BatchReport,
        BatchRun,
        ChunkRef,
        ReportInput,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers

STEP_CONTROL = "b2b-batch-step-control"
"""Patch: a step whose retries run out parks instead of failing the batch (before it, every failure failed it)."""


@workflow.defn
class B2BBatchWorkflow(StepControlHandlers):
    """Split a partner file into transactions and run them, at most ``max_in_flight`` at once."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)
        self._progress: BatchProgress | None = None

    @workflow.run
    async def run(self, run: BatchRun) -> BatchReport:
        self._run = run
        self._progress = run.progress
        # Batches started before step control replay the steps their history recorded.
        self.steps.parks = workflow.patched(STEP_CONTROL)
        async with at_exit(self.steps.settle):
            try:
                return await self._process(run.progress)
            except STEP_ERRORS as failure:  # an abort is an ApplicationError
                raise await self._fail(failure) from None

    async def _process(self, progress: BatchProgress | None) -> BatchReport:
        if progress is None:
            await self.steps.run("register", REGISTER_BATCH, self._run.file, policy=policies.REGISTER_BATCH)
            split = await self.steps.run("split", SPLIT_BATCH, self._run.file, policy=policies.SPLIT)
            progress = self._progress = BatchProgress(split)
            if split.rejected_code is not None:
                return await self._report(progress)
        while progress.next_chunk < progress.split.chunks:
            if self._history_is_long():
                workflow.continue_as_new(replace(self._run, progress=progress))
            progress = self._progress = await self._dispatch(progress)
        return await self._report(progress)

    @workflow.query
    def progress(self) -> BatchProgress | None:
        """Chunks dispatched so far and the split's counts."""
        return self._progress

    async def _dispatch(self, progress: BatchProgress) -> BatchProgress:
        index = progress.next_chunk
        chunk = ChunkRef(self._run.file, index)
        outcome = await self.steps.run(f"dispatch-{index}", DISPATCH_CHUNK, chunk, policy=policies.DISPATCH_CHUNK)
        return replace(
            progress,
            next_chunk=index + 1,
            already_received=progress.already_received + outcome.already_received,
            conflicts=progress.conflicts + outcome.conflicts,
        )

    async def _report(self, progress: BatchProgress) -> BatchReport:
        request = ReportInput(self._run.file, progress.split, progress.already_received, progress.conflicts)
        report = await self.steps.run("report", REPORT_BATCH, request, policy=policies.REPORT)
        meter = workflow.metric_meter()
        meter.create_counter("stepwise_b2b_batches_total", "B2B batch files by outcome").add(
            1, {"outcome": report.status.lower()}
        )
        records = meter.create_counter("stepwise_b2b_records_total", "Records read from B2B files by verdict")
        for verdict, count in (
            ("accepted", report.accepted),
            ("duplicate", report.duplicates),
            ("invalid", report.invalid),
        ):
            if count:
                records.add(count, {"verdict": verdict})
        return report

    async def _fail(self, failure: BaseException) -> ApplicationError:
        """Record the failed step on the batch row; the error the workflow then fails with."""
        message = describe_failure(failure).message
        step = self.steps.stopped_at() or "idle"
        await self.steps.run(
            "record-failure",
            FAIL_BATCH,
            BatchFailure(self._run.file.batch_id, step, message),
            policy=policies.SETTLE,
            progress=False,
        )
        return ApplicationError(
            f"batch {self._run.file.batch_id} of {self._run.file.partner_id} failed at {step}: {message}",
            type=BATCH_FAILED,
            non_retryable=True,
        )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._run.history_budget
