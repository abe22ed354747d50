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

from dataclasses import dataclass, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.b2b_batch import (
        B2BBatchActivities,
        BatchFailure,
        BatchReport,
        ChunkOutcome,
        ChunkRef,
        ReportInput,
    )
    from activities.b2b_split import BatchFile, SplitResult
    from workflows.policies import (
        B2B_DISPATCH_CHUNK,
        B2B_REGISTER_BATCH,
        B2B_REPORT,
        B2B_SETTLE,
        B2B_SPLIT,
        StepPolicy,
    )
    from workflows.step_control import StepControl, StepControlHandlers

STEP_CONTROL = "b2b-batch-step-control"
"""Patch: steps run under step control (a step whose retries run out parks instead of failing)."""


@dataclass(frozen=True)
class BatchProgress:
    """What a batch carries across continue-as-new."""

    split: SplitResult
    """The split's result (chunk count and record counts)."""
    next_chunk: int = 0
    """First chunk not dispatched yet."""
    already_received: int = 0
    """Records so far whose TransactionID had been submitted before with the same content."""
    conflicts: int = 0
    """Records so far whose TransactionID had been used with different content."""


@dataclass(frozen=True)
class BatchRun:
    """The input of ``B2BBatchWorkflow``."""

    file: BatchFile
    """The partner file to process."""
    progress: BatchProgress | None = None
    """Set when continuing as new: the split is done and chunks before ``next_chunk`` are too."""
    history_budget: int = 8000
    """History length after which the workflow continues as new."""


@workflow.defn
class B2BBatchWorkflow(StepControlHandlers):
    """Split a partner file into transactions and run them, at most ``max_in_flight`` at once."""

    def __init__(self) -> None:
        self.steps = StepControl("b2b")
        self._controlled = False
        self._step = "starting"
        self._progress: BatchProgress | None = None

    @workflow.run
    async def run(self, run: BatchRun) -> BatchReport:
        self._run = run
        self._progress = run.progress
        # Batches started before step control replay the steps their history recorded.
        self._controlled = workflow.patched(STEP_CONTROL)
        try:
            return await self._process()
        except (ActivityError, ApplicationError) as failure:  # an abort is an ApplicationError
            raise await self._fail(failure) from None
        finally:
            await self.steps.settle()

    async def _process(self) -> BatchReport:
        run = self._run
        if self._progress is None:
            await self._register()
            self._progress = BatchProgress(await self._split())
            if self._progress.split.rejected_code is not None:
                return await self._report()
        while self._progress.next_chunk < self._progress.split.chunks:
            if self._history_is_long():
                workflow.continue_as_new(replace(run, progress=self._progress))
            await self._dispatch(self._progress.next_chunk)
        return await self._report()

    @workflow.query
    def progress(self) -> BatchProgress | None:
        """Chunks dispatched so far and the split's counts."""
        return self._progress

    async def _register(self) -> None:
        await self._run_step("register", B2BBatchActivities.register_batch, self._run.file, B2B_REGISTER_BATCH)

    async def _split(self) -> SplitResult:
        result: SplitResult = await self._run_step(
            "split", B2BBatchActivities.split_batch, self._run.file, B2B_SPLIT, SplitResult
        )
        return result

    async def _dispatch(self, index: int) -> None:
        outcome: ChunkOutcome = await self._run_step(
            f"dispatch-{index}",
            B2BBatchActivities.dispatch_chunk,
            ChunkRef(self._run.file, index),
            B2B_DISPATCH_CHUNK,
            ChunkOutcome,
        )
        assert self._progress is not None
        self._progress = replace(
            self._progress,
            next_chunk=index + 1,
            already_received=self._progress.already_received + outcome.already_received,
            conflicts=self._progress.conflicts + outcome.conflicts,
        )

    async def _report(self) -> BatchReport:
        assert self._progress is not None
        progress = self._progress
        request = ReportInput(self._run.file, progress.split, progress.already_received, progress.conflicts)
        report: BatchReport = await self._run_step(
            "report", B2BBatchActivities.report_batch, request, B2B_REPORT, BatchReport
        )
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

    async def _run_step(
        self, name: str, activity: Any, argument: Any, policy: StepPolicy, output: type | None = None
    ) -> Any:
        """Run one step; with ``output`` a skip must substitute it (the batch goes on from it)."""
        self._step = name
        if self._controlled:
            result: Any
            if output is not None:
                result = await self.steps.run(name, activity, argument, policy=policy, output=output)
            else:
                result = await self.steps.run(name, activity, argument, policy=policy)
        else:
            result = await workflow.execute_activity_method(activity, argument, **policy.activity_options())
        self._step = "idle"
        return result

    async def _fail(self, failure: ActivityError | ApplicationError) -> ApplicationError:
        """Record the failed step on the batch row; the error the workflow then fails with."""
        cause = failure.cause if isinstance(failure, ActivityError) else failure
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or failure)
        step = self._step
        await self._run_step(
            "record-failure",
            B2BBatchActivities.fail_batch,
            BatchFailure(self._run.file.batch_id, step, message),
            B2B_SETTLE,
        )
        return ApplicationError(
            f"batch {self._run.file.batch_id} of {self._run.file.partner_id} failed at {step}: {message}",
            type="BatchFailed",
            non_retryable=True,
        )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._run.history_budget
