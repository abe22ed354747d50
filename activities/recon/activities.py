"""Reconciliation activities: plan, environments (through a provider), reports, compare, summary.

S3 keys are deterministic (``recon/runs/<run id>/<version>/<report>.csv``,
``.../diffs/<report>.csv``, ``.../summary.md``), Postgres writes are upserts keyed by
run id and report, so every activity can be retried or re-run by an operator safely.
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO, cast

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.models.recon import ReconReportResult, ReconRun
from activities.recon.compare import compare_streams
from activities.recon.contracts import (
    COMPARE,
    COMPARE_SHARE,
    INVALID_RECONCILIATION,
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
from activities.recon.providers import EnvironmentProvider, split_s3_uri
from activities.recon.summary import render_summary


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_RECONCILIATION, non_retryable=True)


class ReconActivities:
    """The reconciliation's side effects; environments go through the named provider."""

    def __init__(
        self,
        aws: AwsClients,
        sessions: SessionMaker,
        resources: Resources,
        providers: dict[str, EnvironmentProvider],
    ) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._providers = providers

    def _provider(self, env: EnvironmentRef) -> EnvironmentProvider:
        if env.provider not in self._providers:
            raise _invalid(f"provider: unknown {env.provider!r} (expected {', '.join(sorted(self._providers))})")
        return self._providers[env.provider]

    def _output_uri(self, run_id: str, *parts: str) -> str:
        return f"s3://{self._resources.reports_bucket}/recon/runs/{run_id}/{'/'.join(parts)}"

    async def _pack(self, packs_uri: str, version: str) -> list[ReportSpec]:
        bucket, prefix = split_s3_uri(packs_uri.rstrip("/") + "/")
        try:
            manifest = json.loads(await self._aws.read_object(bucket, f"{prefix}{version}/pack.json"))
        except ApplicationError as error:
            if error.type == "AwsNotFound":
                raise _invalid(f"no report pack for version {version!r} under {packs_uri}") from None
            raise
        return [
            ReportSpec(name=r["name"], key_columns=list(r["key_columns"]), sql_file=r["sql"])
            for r in manifest["reports"]
        ]

    @activity.defn(name=PLAN.name)
    async def plan(self, request: PlanInput) -> ReconPlan:
        """The reports to compare: the baseline pack's, or the requested subset of it."""
        reports = await self._pack(request.report_packs_uri, request.baseline)
        if request.reports:
            known = {report.name: report for report in reports}
            unknown = [name for name in request.reports if name not in known]
            if unknown:
                raise _invalid(f"reports: {', '.join(unknown)} not in the {request.baseline} pack")
            reports = [known[name] for name in request.reports]
        return ReconPlan(reports=reports)

    @activity.defn(name=RECORD_RUN.name)
    async def record_run(self, record: RunRecord) -> None:
        """Upsert the run's row with its current status (and sign-off, when there is one)."""
        values: dict[str, Any] = {
            "run_id": record.run_id,
            "client_id": record.client_id,
            "baseline": record.baseline,
            "candidate": record.candidate,
            "status": record.status,
        }
        if record.signoff_by or record.signoff_reason:
            values.update(signoff_by=record.signoff_by or None, signoff_reason=record.signoff_reason)
        updates = {k: v for k, v in values.items() if k != "run_id"}
        async with self._sessions.begin() as session:
            await session.execute(
                insert(ReconRun).values(**values).on_conflict_do_update(index_elements=["run_id"], set_=updates)
            )

    @activity.defn(name=RECORD_FAILURE.name)
    async def record_failure(self, failure: ReconFailure) -> None:
        """Mark the run FAILED and send its story to the reconciliation dead-letter queue once."""
        await self.record_run(
            RunRecord(failure.run_id, failure.client_id, failure.baseline, failure.candidate, "FAILED")
        )
        story = {"event": "recon.failed", "workflow_id": failure.run_id, **asdict(failure)}
        await Notifier(self._aws, self._sessions).send_once(
            f"recon:{failure.run_id}:failed"[:250],
            self._resources.recon_dlq,
            f"Reconciliation {failure.run_id} failed"[:100],
            json.dumps(story),
        )

    @activity.defn(name=PROVISION.name)
    async def provision(self, env: EnvironmentRef) -> EnvironmentInfo:
        """Create the version's environment."""
        return await self._provider(env).provision(env)

    @activity.defn(name=RESTORE.name)
    async def restore(self, request: RestoreInput) -> RestoreResult:
        """Restore the snapshot (heartbeats progress; resumes after a worker dies)."""
        return await self._provider(request.environment).restore(request.environment, request.snapshot_uri)

    @activity.defn(name=RUN_REPORT.name)
    async def run_report(self, request: RunReportInput) -> ReportOutput:
        """Run one report of the environment's version; its CSV goes to a deterministic key."""
        env = request.environment
        bucket, prefix = split_s3_uri(request.report_packs_uri.rstrip("/") + "/")
        try:
            sql = (await self._aws.read_object(bucket, f"{prefix}{env.version}/{request.report.sql_file}")).decode()
        except ApplicationError as error:
            if error.type == "AwsNotFound":
                raise _invalid(f"report {request.report.name}: not in the {env.version} pack") from None
            raise
        output = self._output_uri(env.run_id, env.version, f"{request.report.name}.csv")
        return await self._provider(env).run_report(request, sql, output)

    @activity.defn(name=TEARDOWN.name)
    async def teardown(self, env: EnvironmentRef) -> None:
        """Remove the version's environment."""
        await self._provider(env).teardown(env)

    @activity.defn(name=COMPARE.name)
    async def compare(self, request: CompareInput) -> CompareResult:
        """Stream both CSVs, write the diff CSV, upsert the report's result row."""
        try:
            tolerance = Decimal(request.tolerance)
        except InvalidOperation:
            raise _invalid(f"tolerance: not a number: {request.tolerance!r}") from None
        baseline = await self._open(request.baseline_uri)
        candidate = await self._open(request.candidate_uri)
        with tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8", newline="") as diff:
            outcome = await asyncio.to_thread(
                compare_streams,
                request.report.name,
                request.report.key_columns,
                io.TextIOWrapper(baseline, encoding="utf-8", newline=""),
                io.TextIOWrapper(candidate, encoding="utf-8", newline=""),
                tolerance,
                cast(TextIO, diff),
            )
            diff_uri = ""
            if outcome.different:
                diff_uri = self._output_uri(request.run_id, "diffs", f"{request.report.name}.csv")
                diff.seek(0)
                bucket, key = split_s3_uri(diff_uri)
                await self._aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=diff.read().encode())
        result = CompareResult(
            report=request.report.name,
            status="different" if outcome.different else "matched",
            matched=outcome.matched,
            missing=outcome.missing,
            extra=outcome.extra,
            changed=outcome.changed,
            changed_columns=sorted(outcome.changed_columns),
            diff_uri=diff_uri,
        )
        await self._save_result(request.run_id, result)
        activity.metric_meter().create_counter(
            "stepwise_recon_reports_compared_total", "Reports compared, by outcome"
        ).add(1, {"outcome": result.status})
        return result

    @activity.defn(name=COMPARE_SHARE.name)
    async def compare_share(self, share: CompareShare) -> ComparedShare:
        """Compare each report of the share in turn; a report that fails is named, not raised.

        Heartbeats after each report. Every comparison is idempotent (the same diff object,
        an upserted row), so a retried share compares again from the start rather than
        keeping a checkpoint.
        """
        results: list[CompareResult] = []
        failed: list[ComparisonFailed] = []
        for request in share.comparisons:
            try:
                results.append(await self.compare(request))
            except Exception as error:  # any failure of one report: its own step retries or parks it
                error_type = error.type if isinstance(error, ApplicationError) and error.type else type(error).__name__
                failed.append(ComparisonFailed(request.report.name, error_type, str(error)[:2000]))
            activity.heartbeat(len(results) + len(failed))
        return ComparedShare(results, failed)

    async def _open(self, uri: str) -> Any:
        bucket, key = split_s3_uri(uri)
        response = await self._aws.call("s3", "get_object", Bucket=bucket, Key=key)
        return response["Body"]

    async def _save_result(self, run_id: str, result: CompareResult) -> None:
        values = {
            "run_id": run_id,
            "report": result.report,
            "status": result.status,
            "matched_rows": result.matched,
            "missing_rows": result.missing,
            "extra_rows": result.extra,
            "changed_rows": result.changed,
            "changed_columns": ",".join(result.changed_columns),
            "diff_uri": result.diff_uri or None,
            "note": None,
        }
        updates = {k: v for k, v in values.items() if k not in ("run_id", "report")}
        async with self._sessions.begin() as session:
            await session.execute(
                insert(ReconReportResult)
                .values(**values)
                .on_conflict_do_update(index_elements=["run_id", "report"], set_=updates)
            )

    @activity.defn(name=SUMMARISE.name)
    async def summarise(self, request: SummaryInput) -> RunSummary:
        """Record skipped reports, total the run in Postgres, write summary.md and summary.csv."""
        async with self._sessions.begin() as session:
            for skipped in request.skipped:
                await session.execute(
                    insert(ReconReportResult)
                    .values(run_id=request.run_id, report=skipped.report, status="skipped", note=skipped.note)
                    .on_conflict_do_update(
                        index_elements=["run_id", "report"], set_={"status": "skipped", "note": skipped.note}
                    )
                )
            rows = list(
                await session.scalars(
                    select(ReconReportResult)
                    .where(ReconReportResult.run_id == request.run_id)
                    .order_by(ReconReportResult.report)
                )
            )
        markdown, table = render_summary(request, rows)
        markdown_uri = self._output_uri(request.run_id, "summary.md")
        csv_uri = self._output_uri(request.run_id, "summary.csv")
        for uri, body in ((markdown_uri, markdown), (csv_uri, table)):
            bucket, key = split_s3_uri(uri)
            await self._aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=body.encode())
        summary = RunSummary(
            reports_total=len(rows),
            matched=sum(1 for r in rows if r.status == "matched"),
            different=sum(1 for r in rows if r.status == "different"),
            skipped=sum(1 for r in rows if r.status == "skipped"),
            markdown_uri=markdown_uri,
            csv_uri=csv_uri,
            different_reports=[r.report for r in rows if r.status == "different"],
        )
        async with self._sessions.begin() as session:
            await session.execute(
                update(ReconRun)
                .where(ReconRun.run_id == request.run_id)
                .values(
                    status=request.status,
                    reports_total=summary.reports_total,
                    reports_matched=summary.matched,
                    reports_different=summary.different,
                    reports_skipped=summary.skipped,
                    summary_uri=markdown_uri,
                )
            )
        return summary
