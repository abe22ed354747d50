"""Start a reconciliation and read its status: shared by `stepwise recon` and the API."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.common import search_attributes
from activities.common.contracts import STEPS_QUERY, StepControlStatus
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.recon import ReconReportResult, ReconRun
from activities.recon.contracts import PIPELINE, PROVIDERS, ReconciliationInput, ReconciliationStatus
from worker.devstack.seed import RECON_DEMO_PACKS, RECON_DEMO_SNAPSHOT
from workflows.recon.reconciliation import ReconciliationWorkflow, reconciliation_id, validate_input


class ReconciliationNotFound(Exception):
    """Neither Temporal nor Postgres knows the run."""


class InvalidReconciliationRequest(Exception):
    """A request the workflow would refuse; the message starts with the field's name."""

    @property
    def field(self) -> str:
        """The offending field."""
        return str(self).split(":", 1)[0]


def new_run_label() -> str:
    """A run label from the current UTC time, e.g. ``r20261127-195501``."""
    return datetime.datetime.now(datetime.UTC).strftime("r%Y%m%d-%H%M%S")


MAX_PARALLEL = 100
"""The most comparisons or reports in flight a request may ask for (as the API allows)."""


def check_request(request: ReconciliationInput) -> None:
    """The workflow's own input validation, at the edge, and the edge's bounds on top of it.

    The bounds are the API's; the workflow does not check them, so executions started with
    other values before replay as they ran.
    """
    try:
        validate_input(request)
    except ApplicationError as error:
        raise InvalidReconciliationRequest(error.message) from None
    if request.provider not in PROVIDERS:
        raise InvalidReconciliationRequest(f"provider: one of {', '.join(PROVIDERS)} (got {request.provider!r})")
    for name in ("max_parallel_comparisons", "max_parallel_reports"):
        if getattr(request, name) > MAX_PARALLEL:
            raise InvalidReconciliationRequest(f"{name}: at most {MAX_PARALLEL}")


def with_demo_defaults(request: ReconciliationInput, resources: Resources) -> ReconciliationInput:
    """Fill an empty snapshot/report-pack location with the dev stack's demo data."""
    return dataclasses.replace(
        request,
        snapshot_uri=request.snapshot_uri or f"s3://{resources.reports_bucket}/{RECON_DEMO_SNAPSHOT}",
        report_packs_uri=request.report_packs_uri or f"s3://{resources.reports_bucket}/{RECON_DEMO_PACKS}",
    )


async def start_reconciliation(client: Client, task_queue: str, request: ReconciliationInput) -> str:
    """Start the run (a repeated start of the same client and run returns the running one)."""
    check_request(request)
    workflow_id = reconciliation_id(request.client_id, request.run)
    await start_recon_workflow(client, ReconciliationWorkflow.run, request, workflow_id, task_queue)
    return workflow_id


async def start_recon_workflow(client: Client, run: Any, request: Any, workflow_id: str, task_queue: str) -> None:
    """Start a reconciliation or campaign, tagged for visibility; the same id again finds the running one."""
    await client.start_workflow(
        run,
        request,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.PIPELINE, PIPELINE),
                SearchAttributePair(search_attributes.BUSINESS_KEY, workflow_id),
            ]
        ),
    )


@dataclass(frozen=True)
class ReconciliationView:
    """What an operator wants to know about a run."""

    run_id: str
    execution: str
    """Temporal status: RUNNING, COMPLETED, FAILED..."""
    phase: str
    """Workflow phase (planning ... awaiting-signoff, done, aborted)."""
    status: str
    """The run's business status in Postgres (RUNNING, AWAITING_SIGNOFF, APPROVED...)."""
    reports_total: int = 0
    compared: int = 0
    different_reports: list[str] = field(default_factory=list)
    summary_uri: str = ""
    waiting: list[dict[str, str]] = field(default_factory=list)
    """Steps waiting for a human in the run and its environments: workflow_id, step, error."""
    reports: list[dict[str, Any]] = field(default_factory=list)
    """Per-report results from Postgres."""
    signoff_by: str = ""
    signoff_reason: str = ""


async def _query(client: Client, workflow_id: str, name: str, result_type: type) -> Any:
    try:
        return await asyncio.wait_for(client.get_workflow_handle(workflow_id).query(name, result_type=result_type), 5)
    except (TimeoutError, RPCError):
        return None


async def _waiting(client: Client, run_id: str, versions: list[str]) -> list[dict[str, str]]:
    waiting = []
    for workflow_id in [run_id, *(f"{run_id}-{version}" for version in versions)]:
        status: StepControlStatus | None = await _query(client, workflow_id, STEPS_QUERY, StepControlStatus)
        if status is None:
            continue
        states = {state.name: state for state in status.steps}
        for step in status.waiting:
            state = states[step]
            error = f"{state.last_error_type}: {state.last_error}" if state.last_error_type else ""
            waiting.append({"workflow_id": workflow_id, "step": step, "error": error})
    return waiting


async def reconciliation_status(client: Client, sessions: SessionMaker, run_id: str) -> ReconciliationView:
    """The run's status from the workflow (while it runs) and Postgres (always).

    The workflow is asked first: its phase moves on only after the step that writes the
    run's row has committed, so the row read afterwards is never older than the phase
    (read the other way round, a view could say ``awaiting-signoff`` and ``RUNNING``).
    The one exception is a summarise step an operator skipped: it writes no row, so the
    run stays RUNNING in Postgres until its sign-off.
    """
    try:
        described = await client.get_workflow_handle(run_id).describe()
        execution = described.status.name if described.status else "UNKNOWN"
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        execution = ""
    progress: ReconciliationStatus | None = None
    if execution:
        progress = await _query(client, run_id, "recon.status", ReconciliationStatus)
    async with sessions() as session:
        run = await session.get(ReconRun, run_id)
        rows = list(
            await session.scalars(
                select(ReconReportResult).where(ReconReportResult.run_id == run_id).order_by(ReconReportResult.report)
            )
        )
    if not execution:
        if run is None:
            raise ReconciliationNotFound(f"no reconciliation {run_id!r}")
        execution = "UNKNOWN"
    running = execution == WorkflowExecutionStatus.RUNNING.name
    versions = [run.baseline, run.candidate] if run is not None else []
    return ReconciliationView(
        run_id=run_id,
        execution=execution,
        phase=progress.phase if progress else "",
        status=run.status if run else "",
        reports_total=progress.reports_total if progress else (run.reports_total if run else 0),
        compared=progress.compared if progress else len(rows),
        different_reports=[r.report for r in rows if r.status == "different"],
        summary_uri=(run.summary_uri or "") if run else "",
        waiting=await _waiting(client, run_id, versions) if running else [],
        reports=[
            {
                "report": r.report,
                "status": r.status,
                "matched": r.matched_rows,
                "missing": r.missing_rows,
                "extra": r.extra_rows,
                "changed": r.changed_rows,
                "changed_columns": r.changed_columns,
                "diff_uri": r.diff_uri or "",
                "note": r.note or "",
            }
            for r in rows
        ],
        signoff_by=(run.signoff_by or "") if run else "",
        signoff_reason=(run.signoff_reason or "") if run else "",
    )


async def wait_for_decision_point(
    client: Client, sessions: SessionMaker, run_id: str, timeout: float, poll: float = 1.0
) -> ReconciliationView:
    """Poll until the run asks for sign-off, waits for a human, or ends."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        view = await reconciliation_status(client, sessions, run_id)
        if view.execution != "RUNNING" or view.phase in ("awaiting-signoff", "done", "aborted") or view.waiting:
            return view
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{run_id} still {view.phase or 'starting'} after {timeout:.0f}s")
        await asyncio.sleep(poll)
