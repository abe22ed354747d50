"""Reconciliation runs listed from Postgres, and campaigns of many clients (start and follow).

Used by `stepwise recon list|campaign`, ``GET /reconciliations``,
``/reconciliation-campaigns`` and the console's reconciliation page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.common.db import SessionMaker
from activities.models.recon import ReconRun
from activities.recon.contracts import CampaignInput, CampaignResult, ReconciliationInput
from worker.services.recon import InvalidReconciliationRequest, check_request, start_recon_workflow
from workflows.recon.campaign import ReconciliationCampaignWorkflow

CAMPAIGN_PATTERN = r"^[a-z0-9][a-z0-9-]{0,49}$"
"""A campaign label: part of its workflow id."""
MAX_CLIENTS = 500
"""Most clients one campaign reconciles."""


class CampaignNotFound(Exception):
    """No campaign has that label."""


@dataclass(frozen=True)
class RunRow:
    """One reconciliation run as Postgres records it."""

    run_id: str
    client_id: str
    baseline: str
    candidate: str
    status: str
    reports_total: int
    reports_different: int
    signoff_by: str
    updated_at: datetime.datetime | None


async def list_runs(sessions: SessionMaker, *, client_id: str = "", status: str = "", limit: int = 200) -> list[RunRow]:
    """Runs, newest first, optionally of one client or in one status."""
    query = select(ReconRun).order_by(ReconRun.updated_at.desc(), ReconRun.run_id).limit(max(1, min(limit, 1000)))
    if client_id:
        query = query.where(ReconRun.client_id == client_id)
    if status:
        query = query.where(ReconRun.status == status.upper())
    async with sessions() as session:
        rows = (await session.scalars(query)).all()
    return [
        RunRow(
            run_id=row.run_id,
            client_id=row.client_id,
            baseline=row.baseline,
            candidate=row.candidate,
            status=row.status,
            reports_total=row.reports_total or 0,
            reports_different=row.reports_different or 0,
            signoff_by=row.signoff_by or "",
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def campaign_id(campaign: str) -> str:
    """The campaign's workflow id."""
    return f"recon-campaign-{campaign}"


def campaign_input(
    campaign: str, template: ReconciliationInput, clients: list[str], max_parallel: int
) -> CampaignInput:
    """One reconciliation per client, each like ``template``; checked before anything starts."""
    if not re.fullmatch(CAMPAIGN_PATTERN, campaign):
        raise InvalidReconciliationRequest(f"campaign: {campaign!r} must match {CAMPAIGN_PATTERN}")
    if not clients or len(clients) > MAX_CLIENTS:
        raise InvalidReconciliationRequest(f"clients: between 1 and {MAX_CLIENTS} (got {len(clients)})")
    if len(set(clients)) != len(clients):
        raise InvalidReconciliationRequest("clients: each client at most once")
    if not 1 <= max_parallel <= 100:
        raise InvalidReconciliationRequest(f"max_parallel: between 1 and 100 (got {max_parallel})")
    runs = [dataclasses.replace(template, client_id=client) for client in clients]
    for run in runs:
        check_request(run)
    return CampaignInput(campaign=campaign, runs=runs, max_parallel=max_parallel)


async def start_campaign(client: Client, task_queue: str, request: CampaignInput) -> str:
    """Start the campaign (starting the same label again returns the running one)."""
    workflow_id = campaign_id(request.campaign)
    await start_recon_workflow(client, ReconciliationCampaignWorkflow.run, request, workflow_id, task_queue)
    return workflow_id


@dataclass(frozen=True)
class CampaignView:
    """Where a campaign stands: each client's outcome so far and the counts."""

    campaign: str
    workflow_id: str
    execution: str
    outcomes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


async def campaign_status(client: Client, campaign: str) -> CampaignView:
    """The campaign's execution status and per-client outcomes (query; the result once it ended)."""
    workflow_id = campaign_id(campaign)
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise CampaignNotFound(f"no campaign {campaign!r}") from None
        raise
    outcomes: dict[str, str] = {}
    try:
        if described.status == WorkflowExecutionStatus.COMPLETED:
            # Its result holds every outcome (no worker needed to answer a query on a closed run).
            done = await client.get_workflow_handle(workflow_id, result_type=CampaignResult).result()
            outcomes = dict(done.outcomes)
        elif described.status == WorkflowExecutionStatus.RUNNING:
            result: CampaignResult = await asyncio.wait_for(
                handle.query(ReconciliationCampaignWorkflow.outcomes), timeout=5
            )
            outcomes = dict(result.outcomes)
    except (TimeoutError, RPCError):
        outcomes = {}  # no worker answered in time: the execution status alone
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return CampaignView(
        campaign=campaign,
        workflow_id=workflow_id,
        execution=described.status.name if described.status else "UNKNOWN",
        outcomes=outcomes,
        counts=counts,
    )
