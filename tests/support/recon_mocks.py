"""Name-matched stand-ins for the reconciliation's activities, for pure workflow-logic tests.

They keep no state outside this object except what the tests measure: how many
comparisons run at once (measured, not assumed) and how many calls each activity got.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.common.contracts import NOTIFY_ATTENTION, RECORD_DECISION, AttentionNotice, DecisionAudit, NoticeSent
from activities.recon.contracts import (
    ACTIVITIES,
    COMPARE,
    COMPARE_SHARE,
    PLAN,
    PROVISION,
    RECORD_FAILURE,
    RECORD_RUN,
    RESTORE,
    RUN_REPORT,
    SUMMARISE,
    TEARDOWN,
    ComparedShare,
    CompareInput,
    CompareResult,
    CompareShare,
    ComparisonFailed,
    EnvironmentInfo,
    EnvironmentRef,
    PlanInput,
    ReconFailure,
    ReconPlan,
    ReportOutput,
    ReportSpec,
    RestoreInput,
    RestoreResult,
    RunRecord,
    RunReportInput,
    RunSummary,
    SummaryInput,
)
from tests.support.mocks import covering, mock_activity


class MockRecon:
    """Every activity the reconciliation calls; ``compare_seconds`` of sleep per comparison."""

    def __init__(self, reports: int, compare_seconds: float = 0.0, plan_error: str = "") -> None:
        self.reports = [ReportSpec(f"report_{i:04d}", ["id"], f"report_{i:04d}.sql") for i in range(reports)]
        self.compare_seconds = compare_seconds
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: Counter[str] = Counter()
        self.notices: list[AttentionNotice] = []
        self.compare_started: list[float] = []
        self.runs_in_flight = 0
        self.max_runs_in_flight = 0
        self.compare_finished: list[float] = []
        self.plan_error = plan_error
        """When set, planning fails non-retryably with this error type (the run fails)."""
        self.failures: list[ReconFailure] = []
        self.fail_once: set[str] = set()
        """Reports whose first comparison fails (non-retryable); later ones succeed."""

    @mock_activity(PLAN)
    async def plan(self, request: PlanInput) -> ReconPlan:
        self.calls["plan"] += 1
        if self.plan_error:
            raise ApplicationError("the report pack is unreadable", type=self.plan_error, non_retryable=True)
        return ReconPlan(reports=self.reports)

    @mock_activity(RECORD_FAILURE)
    async def record_failure(self, failure: ReconFailure) -> None:
        self.failures.append(failure)

    @mock_activity(RECORD_RUN)
    async def record_run(self, record: RunRecord) -> None:
        self.calls[f"record:{record.status}"] += 1
        if record.status == "RUNNING":
            self.runs_in_flight += 1
            self.max_runs_in_flight = max(self.max_runs_in_flight, self.runs_in_flight)

    @mock_activity(PROVISION)
    async def provision(self, env: EnvironmentRef) -> EnvironmentInfo:
        self.calls["provision"] += 1
        return EnvironmentInfo(environment_id=f"env-{env.version}")

    @mock_activity(RESTORE)
    async def restore(self, request: RestoreInput) -> RestoreResult:
        self.calls["restore"] += 1
        return RestoreResult(statements=1, resumed_from=0)

    @mock_activity(RUN_REPORT)
    async def run_report(self, request: RunReportInput) -> ReportOutput:
        self.calls["report"] += 1
        name = request.report.name
        return ReportOutput(name, f"s3://bucket/{request.environment.version}/{name}.csv", 10)

    @mock_activity(TEARDOWN)
    async def teardown(self, env: EnvironmentRef) -> None:
        self.calls["teardown"] += 1

    @mock_activity(COMPARE)
    async def compare(self, request: CompareInput) -> CompareResult:
        self.calls["compare"] += 1
        self.compare_started.append(time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.compare_seconds:
                await asyncio.sleep(self.compare_seconds)
            if request.report.name in self.fail_once:
                self.fail_once.discard(request.report.name)
                raise ApplicationError("injected comparison fault", type="InjectedFault", non_retryable=True)
        finally:
            self.in_flight -= 1
            self.compare_finished.append(time.monotonic())
        return CompareResult(request.report.name, "matched", 10, 0, 0, 0)

    @mock_activity(COMPARE_SHARE)
    async def compare_share(self, share: CompareShare) -> ComparedShare:
        self.calls["compare_share"] += 1
        compared = ComparedShare()
        for request in share.comparisons:  # as the real activity: a failing report is named, not raised
            try:
                compared.results.append(await self.compare(request))
            except ApplicationError as error:
                compared.failed.append(ComparisonFailed(request.report.name, error.type or "", error.message))
        return compared

    @mock_activity(SUMMARISE)
    async def summarise(self, request: SummaryInput) -> RunSummary:
        self.calls["summarise"] += 1
        self.runs_in_flight -= 1
        total = len(self.reports)
        return RunSummary(total, total - len(request.skipped), 0, len(request.skipped), "s3://b/s.md", "s3://b/s.csv")

    @mock_activity(NOTIFY_ATTENTION)
    async def notify(self, notice: AttentionNotice) -> NoticeSent:
        self.notices.append(notice)
        return NoticeSent(message_id=f"m-{len(self.notices)}", duplicate=False)

    @mock_activity(RECORD_DECISION)
    async def record_decision(self, audit: DecisionAudit) -> None:
        self.calls[f"audit:{audit.action}"] += 1

    def activities(self) -> list[Callable[..., Any]]:
        """Everything to register on a worker."""
        return covering(
            (*ACTIVITIES, RECORD_DECISION, NOTIFY_ATTENTION),
            [
                self.plan,
                self.record_run,
                self.provision,
                self.restore,
                self.run_report,
                self.teardown,
                self.compare,
                self.compare_share,
                self.summarise,
                self.notify,
                self.record_decision,
                self.record_failure,
            ],
        )
