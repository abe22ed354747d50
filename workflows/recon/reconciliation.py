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
import re
from decimal import Decimal, InvalidOperation

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.common import search_attributes
    from activities.common.contracts import STEP_ABORTED
    from activities.recon.contracts import (
        COMPARE,
        INVALID_RECONCILIATION,
        PIPELINE,
        PLAN,
        PROVISION,
        RECORD_RUN,
        RESTORE,
        RUN_REPORT,
        SUMMARISE,
        TEARDOWN,
        CompareInput,
        CompareResult,
        EnvironmentInput,
        EnvironmentOutput,
        EnvironmentRef,
        PlanInput,
        ReconciliationInput,
        ReconciliationResult,
        ReconciliationStatus,
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
    from workflows.common.step_control import StepControl, StepControlHandlers
    from workflows.recon import policies


SUMMARY_REQUIRED = "recon-summary-required"
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
        try:
            await self.steps.run_optional("provision", PROVISION, env, policy=policies.ENVIRONMENT, attention=attention)
            await self.steps.run_optional(
                "restore",
                RESTORE,
                RestoreInput(env, request.snapshot_uri),
                policy=policies.RESTORE,
                attention=attention,
            )
            outputs = await self._run_reports(env, request)
        finally:
            await self.steps.run("teardown", TEARDOWN, env, policy=policies.ENVIRONMENT, attention=attention)
            await self.steps.settle()
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
        try:
            plan = await self._plan(request)
            versions = await self._environments(request, plan)
            await self._compare_all(request, plan, versions)
            summary = await self._summarise(request, versions)
            return await self._signoff(request, summary)
        except ApplicationError as error:
            if error.type == STEP_ABORTED:
                self._phase = "aborted"
                await self._record(request, "ABORTED", reason=error.message)
            raise
        finally:
            await self.steps.settle()

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
            self._compared += 1
            if self.steps.skipped(step):
                self._comparisons_skipped.append(report.name)
            if result is not None and result.status == "different":
                self._different.append(report.name)
            return result

        return await self.steps.run_all([compare(i) for i in range(len(plan.reports))])

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
