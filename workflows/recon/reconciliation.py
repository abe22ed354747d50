"""The reconciliation pipeline (DESIGN §5.2; seed: "Field Notes: Orchestrating and Monitoring
Complex, Long-running Workflows Using AWS Step Functions").

The article's figure, box by box: for each version a child workflow provisions an
environment, restores the database, runs the reports (bounded) and always tears down;
then every report pair is compared with at most N in flight (the article's Map with a
concurrency of 5), the run is summarised, and an operator signs off. Every step runs
under step control, so any failed step can be rerun or skipped by an operator without
a single extra state in this code: the article's wish.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.recon.policies as policies
    from activities.common import search_attributes
    from activities.common.contracts import STEP_ABORTED
    from activities.recon.contracts import (
        COMPARE,
        COMPARE_SHARE,
        INVALID_RECONCILIATION,
        PIPELINE,
        PLAN,
        PROVISION,
        RECORD_FAILURE,
        RECORD_RUN,
        RESTORE,
        RUN_REPORT,
        SUMMARISE,
        TEARDOWN,
        CompareInput,
        CompareResult,
        CompareShare,
        EnvironmentInput,
        EnvironmentOutput,
        EnvironmentRef,
        PlanInput,
        ReconciliationInput,
        ReconciliationResult,
        ReconciliationStatus,
        ReconFailure,
        ReconPlan,
        ReportOutput,
        ReportSpec,
        RestoreInput,
        RunRecord,
        RunReportInput,
        RunSummary,
        SkippedReport,
        SummaryInput,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers


SUMMARY_REQUIRED = "recon-summary-required"
COMPARE_LANES = "recon-compare-lanes"
"""Patch: comparisons run in N lanes that take shares of the remaining reports (one step per report before)."""
FAILURE_RECORDED = "recon-failure-recorded"
"""Patch: a failed run is marked FAILED in Postgres and its story goes to the reconciliation DLQ."""
SIGNOFF_FREES_SLOT = "recon-signoff-frees-campaign-slot"
"""Patch: a campaign's client waiting for sign-off tells its campaign, which frees its slot."""
CAMPAIGN_SLOT_SIGNAL = "recon.campaign.awaiting_signoff"
"""Signal a campaign's child sends when it starts waiting for sign-off (argument: its run id)."""
"""Patch: a skipped summary must carry a substitute (runs started before took an empty one)."""
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")


def reconciliation_id(client_id: str, run: str) -> str:
    """The workflow id of a client's run: ``recon-<client>-<run>``."""
    return f"recon-{client_id}-{run}"


def validate_input(request: ReconciliationInput) -> None:
    """Raise a non-retryable ``InvalidReconciliation`` naming the first bad field."""
    problems = [
        ("client_id", not NAME.match(request.client_id), "lower-case letters, digits and dashes"),
        ("run", not NAME.match(request.run), "lower-case letters, digits and dashes"),
        ("baseline", not VERSION.match(request.baseline), "a version label such as v1"),
        ("candidate", not VERSION.match(request.candidate), "a version label such as v2"),
        ("candidate", request.candidate == request.baseline, "must differ from baseline"),
        ("snapshot_uri", not request.snapshot_uri.startswith("s3://"), "an s3:// URI"),
        ("report_packs_uri", not request.report_packs_uri.startswith("s3://"), "an s3:// URI"),
        ("max_parallel_comparisons", request.max_parallel_comparisons < 1, "at least 1"),
        ("max_parallel_reports", request.max_parallel_reports < 1, "at least 1"),
    ]
    for field, bad, expected in problems:
        if bad:
            raise ApplicationError(f"{field}: {expected}", type=INVALID_RECONCILIATION, non_retryable=True)
    try:
        if Decimal(request.tolerance) < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise ApplicationError(
            f"tolerance: a non-negative number (got {request.tolerance!r})",
            type=INVALID_RECONCILIATION,
            non_retryable=True,
        ) from None


def tags(business_key: str) -> TypedSearchAttributes:
    """Search attributes of a reconciliation execution (pipeline and business key)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.PIPELINE, PIPELINE),
            SearchAttributePair(search_attributes.BUSINESS_KEY, business_key),
        ]
    )


@workflow.defn
class VersionEnvironmentWorkflow(StepControlHandlers):
    """One version: provision -> restore -> reports (bounded) -> teardown, always."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)

    @workflow.run
    async def run(self, request: EnvironmentInput) -> EnvironmentOutput:
        env = EnvironmentRef(request.provider, request.run_id, request.version, request.provider_options)
        attention = request.attention
        # Leaving the block tears the environment down, then settles decisions (teardown first).
        async with (
            at_exit(self.steps.settle),
            at_exit(
                lambda: self.steps.run("teardown", TEARDOWN, env, policy=policies.ENVIRONMENT, attention=attention)
            ),
        ):
            await self.steps.run_optional("provision", PROVISION, env, policy=policies.ENVIRONMENT, attention=attention)
            await self.steps.run_optional(
                "restore",
                RESTORE,
                RestoreInput(env, request.snapshot_uri),
                policy=policies.RESTORE,
                attention=attention,
            )
            outputs = await self._run_reports(env, request)
        produced = [output for output in outputs if output is not None]
        skipped = [
            SkippedReport(report.name, f"report run skipped in {request.version}")
            for report, output in zip(request.reports, outputs, strict=True)
            if output is None
        ]
        notes = [
            f"{step} of {request.version} skipped by an operator"
            for step in ("provision", "restore", "teardown")
            if self.steps.skipped(step)
        ]
        return EnvironmentOutput(version=request.version, outputs=produced, skipped=skipped, notes=notes)

    async def _run_reports(self, env: EnvironmentRef, request: EnvironmentInput) -> list[ReportOutput | None]:
        limiter = asyncio.Semaphore(request.max_parallel_reports)
        reports = [self._run_report(env, request, report, limiter) for report in request.reports]
        return await self.steps.run_all(reports)

    async def _run_report(
        self, env: EnvironmentRef, request: EnvironmentInput, report: ReportSpec, limiter: asyncio.Semaphore
    ) -> ReportOutput | None:
        run = RunReportInput(env, request.report_packs_uri, report)
        return await self.steps.run_optional(
            f"report:{report.name}",
            RUN_REPORT,
            run,
            policy=policies.REPORT,
            limiter=limiter,
            attention=request.attention,
        )


@workflow.defn
class ReconciliationWorkflow(StepControlHandlers):
    """Both versions, every comparison, the summary, and the sign-off gate."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)
        self._phase = "planning"
        self._total = 0
        self._compared = 0
        self._different: list[str] = []
        self._comparisons_skipped: list[str] = []
        self._summary: RunSummary | None = None

    @workflow.query(name="recon.status")
    def status(self) -> ReconciliationStatus:
        """Phase and progress of the run."""
        return ReconciliationStatus(
            run_id=workflow.info().workflow_id,
            phase=self._phase,
            reports_total=self._total,
            compared=self._compared,
            different_reports=list(self._different),
            summary=self._summary,
        )

    @workflow.run
    async def run(self, request: ReconciliationInput) -> ReconciliationResult:
        validate_input(request)
        await self._record(request, "RUNNING")
        async with at_exit(self.steps.settle):
            try:
                plan = await self._plan(request)
                versions = await self._environments(request, plan)
                await self._compare_all(request, plan, versions)
                summary = await self._summarise(request, versions)
                return await self._signoff(request, summary)
            except Exception as error:
                if isinstance(error, ApplicationError) and error.type == STEP_ABORTED:
                    self._phase = "aborted"
                    await self._record(request, "ABORTED", reason=error.message)
                elif workflow.patched(FAILURE_RECORDED):
                    await self._record_failure(request, error)
                raise

    async def _record_failure(self, request: ReconciliationInput, error: Exception) -> None:
        """FAILED in Postgres (it stayed RUNNING before) and the run's story to the recon DLQ."""
        described = describe_failure(error)
        failure = ReconFailure(
            run_id=workflow.info().workflow_id,
            client_id=request.client_id,
            baseline=request.baseline,
            candidate=request.candidate,
            failed_step=self.steps.stopped_at() or self._phase,
            error_type=described.error_type,
            reason=described.message,
        )
        try:
            await self.steps.run("record_failure", RECORD_FAILURE, failure, policy=policies.BOOKKEEPING, progress=False)
        except STEP_ERRORS as unrecorded:  # an operator aborted the recording itself: the run still fails
            workflow.logger.error("failure of %s not recorded: %s", failure.run_id, unrecorded)

    async def _record(self, request: ReconciliationInput, status: str, operator: str = "", reason: str = "") -> None:
        record = RunRecord(
            run_id=workflow.info().workflow_id,
            client_id=request.client_id,
            baseline=request.baseline,
            candidate=request.candidate,
            status=status,
            signoff_by=operator,
            signoff_reason=reason,
        )
        await self.steps.run(
            f"record:{status.lower()}", RECORD_RUN, record, policy=policies.BOOKKEEPING, progress=False
        )

    async def _plan(self, request: ReconciliationInput) -> ReconPlan:
        plan_input = PlanInput(request.report_packs_uri, request.baseline, request.candidate, list(request.reports))
        plan = await self.steps.run("plan", PLAN, plan_input, policy=policies.PLAN)
        self._total = len(plan.reports)
        return plan

    async def _environments(self, request: ReconciliationInput, plan: ReconPlan) -> dict[str, EnvironmentOutput]:
        self._phase = "environments"
        run_id = workflow.info().workflow_id
        outputs = await self.steps.run_all(
            [
                self.steps.run_child(
                    f"environment:{version}",
                    VersionEnvironmentWorkflow.run,
                    EnvironmentInput(
                        run_id=run_id,
                        version=version,
                        provider=request.provider,
                        provider_options=dict(request.provider_options),
                        snapshot_uri=request.snapshot_uri,
                        report_packs_uri=request.report_packs_uri,
                        reports=plan.reports,
                        max_parallel_reports=request.max_parallel_reports,
                        attention=request.attention,
                    ),
                    id=f"{run_id}-{version}",
                    search_attributes=tags(run_id),
                    attention=request.attention,
                    result_type=EnvironmentOutput,
                )
                for version in (request.baseline, request.candidate)
            ]
        )
        return {
            version: output or EnvironmentOutput(version=version, outputs=[], notes=[f"{version} skipped"])
            for version, output in zip((request.baseline, request.candidate), outputs, strict=True)
        }

    async def _compare_all(
        self, request: ReconciliationInput, plan: ReconPlan, versions: dict[str, EnvironmentOutput]
    ) -> list[CompareResult | None]:
        self._phase = "comparing"
        baseline = {output.report: output.uri for output in versions[request.baseline].outputs}
        candidate = {output.report: output.uri for output in versions[request.candidate].outputs}
        limiter = asyncio.Semaphore(request.max_parallel_comparisons)

        async def compare(report_index: int) -> CompareResult | None:
            report = plan.reports[report_index]
            if report.name not in baseline or report.name not in candidate:
                return None
            step = f"compare:{report.name}"
            result = await self.steps.run_optional(
                step,
                COMPARE,
                CompareInput(
                    workflow.info().workflow_id,
                    report,
                    baseline[report.name],
                    candidate[report.name],
                    request.tolerance,
                ),
                policy=policies.COMPARE,
                limiter=limiter,
                attention=request.attention,
            )
            if self.steps.skipped(step):
                self._comparisons_skipped.append(report.name)
            self._count_compared(report.name, result)
            return result

        if workflow.patched(COMPARE_LANES):
            return await self._compare_in_lanes(request, plan, baseline, candidate, compare)
        return await self.steps.run_all([compare(i) for i in range(len(plan.reports))])

    def _count_compared(self, report: str, result: CompareResult | None) -> None:
        self._compared += 1
        if result is not None and result.status == "different":
            self._different.append(report)

    async def _compare_in_lanes(
        self,
        request: ReconciliationInput,
        plan: ReconPlan,
        baseline: dict[str, str],
        candidate: dict[str, str],
        compare_one: Callable[[int], Awaitable[CompareResult | None]],
    ) -> list[CompareResult | None]:
        """Keep N comparison lanes busy, each taking the next share of the remaining reports.

        A free lane takes ``ceil(remaining / N)`` reports (guided self-scheduling) and compares
        them in one activity, so no workflow round trip separates one comparison from the
        next; shares shrink as the work runs out, which keeps the lanes finishing together,
        and a share of a single report runs as its own ``compare:<report>`` step. A report
        that fails inside a share — or every report of a share whose activity failed as a
        whole — then runs as its own step, with that step's retries and park.
        Never more than N comparisons run at once: one per lane.
        """
        lanes = request.max_parallel_comparisons
        results: dict[int, CompareResult | None] = {}
        pending = deque(
            i for i, report in enumerate(plan.reports) if report.name in baseline and report.name in candidate
        )

        async def lane() -> None:
            while pending:
                size = max(1, math.ceil(len(pending) / lanes))
                taken = [pending.popleft() for _ in range(min(size, len(pending)))]
                done = await self._compare_share(request, plan, baseline, candidate, taken) if size > 1 else {}
                for index in taken:
                    if index in done:
                        results[index] = done[index]
                        self._count_compared(plan.reports[index].name, done[index])
                    else:
                        results[index] = await compare_one(index)

        await self.steps.run_all([lane() for _ in range(max(1, min(lanes, len(pending))))])
        return [results.get(i) for i in range(len(plan.reports))]

    async def _compare_share(
        self,
        request: ReconciliationInput,
        plan: ReconPlan,
        baseline: dict[str, str],
        candidate: dict[str, str],
        indices: list[int],
    ) -> dict[int, CompareResult]:
        """Compare several reports in one activity; those it compared, by plan index."""
        run_id = workflow.info().workflow_id
        reports = [plan.reports[i] for i in indices]
        share = CompareShare(
            [
                CompareInput(run_id, report, baseline[report.name], candidate[report.name], request.tolerance)
                for report in reports
            ]
        )
        try:
            compared = await self.steps.run(
                f"compare-share:{reports[0].name}+{len(reports) - 1}",
                COMPARE_SHARE,
                share,
                policy=policies.COMPARE_SHARE,
                attention=request.attention,
            )
        except STEP_ERRORS as failure:  # the share failed as a whole: each report becomes its own step
            workflow.logger.warning("comparison share failed, comparing its reports one by one: %s", failure)
            return {}
        by_name = {result.report: result for result in compared.results}
        return {i: by_name[plan.reports[i].name] for i in indices if plan.reports[i].name in by_name}

    async def _summarise(self, request: ReconciliationInput, versions: dict[str, EnvironmentOutput]) -> RunSummary:
        self._phase = "summarising"
        skipped: dict[str, SkippedReport] = {}
        for output in versions.values():
            skipped.update({s.report: s for s in output.skipped})
        notes = [note for output in versions.values() for note in output.notes]
        run_id = workflow.info().workflow_id
        summary_input = SummaryInput(
            run_id=run_id,
            client_id=request.client_id,
            baseline=request.baseline,
            candidate=request.candidate,
            status="AWAITING_SIGNOFF" if request.signoff_required else "COMPLETED",
            skipped=list(skipped.values()) + self._skipped_comparisons(skipped),
            notes=notes,
        )
        if workflow.patched(SUMMARY_REQUIRED):
            # A skipped summary must be given a substitute: the sign-off shows it.
            summary = await self.steps.run(
                "summarise", SUMMARISE, summary_input, policy=policies.BOOKKEEPING, attention=request.attention
            )
        else:
            # Runs started earlier may have skipped it without a substitute: they go on with no counts.
            skippable = await self.steps.run_optional(
                "summarise", SUMMARISE, summary_input, policy=policies.BOOKKEEPING, attention=request.attention
            )
            summary = skippable if skippable is not None else RunSummary.nothing_summarised()
        self._summary = summary
        return summary

    def _skipped_comparisons(self, already: dict[str, SkippedReport]) -> list[SkippedReport]:
        return [
            SkippedReport(report, "comparison skipped by an operator")
            for report in self._comparisons_skipped
            if report not in already
        ]

    async def _signoff(self, request: ReconciliationInput, summary: RunSummary) -> ReconciliationResult:
        run_id = workflow.info().workflow_id
        if not request.signoff_required:
            self._phase = "done"
            return ReconciliationResult(run_id=run_id, outcome="completed", summary=summary)
        self._phase = "awaiting-signoff"
        parent = workflow.info().parent
        if parent is not None and workflow.patched(SIGNOFF_FREES_SLOT):
            # A human may take days: the campaign gives this client's slot to the next one.
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(CAMPAIGN_SLOT_SIGNAL, run_id)
        body = (
            f"Reconciliation {run_id} ({request.client_id}: {request.baseline} -> {request.candidate}) is ready.\n"
            f"{summary.reports_total} reports: {summary.matched} matched, {summary.different} different, "
            f"{summary.skipped} skipped.\nDifferent: {', '.join(summary.different_reports) or 'none'}\n"
            f"Summary: {summary.markdown_uri}\n"
            f"Decide with: stepwise decide {run_id} signoff approve|reject --operator NAME --reason TEXT"
        )
        decision = await self.steps.gate(
            "signoff",
            subject=f"[stepwise] reconciliation {run_id}: sign-off requested",
            body=body,
            attention=request.signoff_attention,
            audience="signoff",
        )
        outcome = "approved" if decision.approved else "rejected"
        await self._record(request, outcome.upper(), operator=decision.operator, reason=decision.reason)
        self._phase = "done"
        return ReconciliationResult(
            run_id=run_id,
            outcome=outcome,
            summary=summary,
            signoff_by=decision.operator,
            signoff_reason=decision.reason,
        )
