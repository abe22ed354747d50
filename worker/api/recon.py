"""Reconciliations over HTTP: start one, read its status (operator role)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, WithJsonSchema

from activities.common.contracts import ACTIONS, AttentionPolicy
from activities.common.resources import Resources
from activities.recon.contracts import ReconciliationInput
from worker.api.app import ApiServices
from worker.api.auth import Operator
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import LINE_PATTERN, Line
from worker.services.recon import (
    InvalidReconciliationRequest,
    ReconciliationNotFound,
    ReconciliationView,
    new_run_label,
    reconciliation_status,
    start_reconciliation,
    with_demo_defaults,
)
from worker.services.recon_runs import (
    CAMPAIGN_PATTERN,
    MAX_CLIENTS,
    CampaignNotFound,
    campaign_input,
    campaign_status,
    list_runs,
    start_campaign,
)
from worker.settings import LONGEST_WAIT_SECONDS

router = APIRouter(tags=["reconciliation"])
RUN_STATUSES = "RUNNING|AWAITING_SIGNOFF|APPROVED|REJECTED|COMPLETED|ABORTED|FAILED"

RunId = Annotated[Line, Path(min_length=1, max_length=200, description="The run id the start returned.")]


MAX_ATTENTION_SECONDS = LONGEST_WAIT_SECONDS
"""The longest wait before a reminder, an escalation or the default action."""

AttentionDelay = Annotated[float, Field(gt=0, le=MAX_ATTENTION_SECONDS, allow_inf_nan=False)]
"""Seconds from the start of the wait. Bounded because each delay becomes a workflow timer, and a
timer the SDK cannot build (``Infinity``, ``1e300``) would fail every workflow task of the run."""


class AttentionRequest(BaseModel):
    """Remind -> escalate -> default action while nobody answers (seconds from the start of the wait)."""

    remind_after_seconds: AttentionDelay | None = 4 * 3600
    escalate_after_seconds: AttentionDelay | None = 24 * 3600
    default_after_seconds: AttentionDelay | None = None
    default_action: str | None = Field(default=None, pattern="^(" + "|".join(ACTIONS) + ")$")


class ReconciliationRequest(BaseModel):
    """Reconcile a client's baseline and candidate versions."""

    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,49}$", description="Client id.")
    baseline: Line = Field(min_length=1, max_length=50, description="Version in production.")
    candidate: Line = Field(min_length=1, max_length=50, description="Version to migrate to.")
    run: Line = Field(default="", max_length=50, description="Run label (default: from the time).")
    reports: list[Annotated[Line, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="Reports to compare (default: all)."
    )
    max_parallel_comparisons: int = Field(default=5, ge=1, le=100)
    max_parallel_reports: int = Field(default=5, ge=1, le=100)
    tolerance: str = Field(default="0.005", pattern=r"^\d+(\.\d+)?$", description="Numeric tolerance.")
    signoff_required: bool = True
    snapshot_uri: Line = Field(default="", max_length=1100, description="s3:// SQL dump (default: the demo snapshot).")
    report_packs_uri: Line = Field(
        default="", max_length=1100, description="s3:// report packs (default: the demo packs)."
    )
    provider: str = Field(default="local-postgres", pattern="^(local-postgres|aws-ssm)$")
    provider_options: Annotated[
        dict[Line, Line],
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"pattern": LINE_PATTERN},
                "additionalProperties": {"type": "string", "pattern": LINE_PATTERN},
            }
        ),
    ] = Field(default_factory=dict, description="Provider settings, name -> value.")
    attention: AttentionRequest = Field(default_factory=AttentionRequest, description="Parked steps.")
    signoff_attention: AttentionRequest = Field(default_factory=AttentionRequest, description="The sign-off gate.")


class ReconciliationAccepted(BaseModel):
    """Where to follow a started reconciliation."""

    run_id: str
    status_url: str


@router.post(
    "/reconciliations",
    status_code=202,
    response_model=ReconciliationAccepted,
    responses=error_responses(*AUTHENTICATED, 403),
)
async def start(body: ReconciliationRequest, request: Request, caller: Operator) -> Any:
    """Start a reconciliation; 202 with its id and status URL (a repeat returns the same run)."""
    services: ApiServices = request.app.state.services
    reconciliation = _reconciliation(body, request)
    try:
        run_id = await start_reconciliation(services.client, services.task_queue, reconciliation)
    except InvalidReconciliationRequest as error:
        return _refusal(error)
    return {"run_id": run_id, "status_url": f"/reconciliations/{run_id}"}


@router.get(
    "/reconciliations/{run_id}",
    response_model=ReconciliationView,
    responses=error_responses(*AUTHENTICATED, 403, 404),
)
async def status(run_id: RunId, request: Request, caller: Operator) -> dict[str, Any]:
    """Phase, per-report results, steps waiting for a human, sign-off."""
    services: ApiServices = request.app.state.services
    try:
        view = await reconciliation_status(services.client, services.sessions, run_id)
    except ReconciliationNotFound as error:
        raise HTTPException(404, str(error)) from None
    return dataclasses.asdict(view)


def _reconciliation(body: ReconciliationRequest, request: Request) -> ReconciliationInput:
    resources = Resources(prefix=request.app.state.settings.aws.name_prefix)
    values = body.model_dump()
    values["run"] = values["run"] or new_run_label()
    values["attention"] = AttentionPolicy(**values["attention"])
    values["signoff_attention"] = AttentionPolicy(**values["signoff_attention"])
    return with_demo_defaults(ReconciliationInput(**values), resources)


def _refusal(error: InvalidReconciliationRequest) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error), "errors": [{"field": error.field, "message": str(error).split(": ", 1)[-1]}]},
        status_code=422,
    )


@router.get("/reconciliations", responses=error_responses(*AUTHENTICATED, 403))
async def runs(
    request: Request,
    caller: Operator,
    client_id: Annotated[str, Query(pattern=r"^([a-z0-9][a-z0-9-]{0,49})?$", description="Only this client.")] = "",
    status: Annotated[str, Query(pattern=f"^({RUN_STATUSES})?$", description="Only runs in this status.")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Reconciliation runs from Postgres, newest first."""
    services: ApiServices = request.app.state.services
    rows = await list_runs(services.sessions, client_id=client_id, status=status, limit=limit)
    return {"items": [dataclasses.asdict(row) for row in rows], "count": len(rows)}


class CampaignRequest(ReconciliationRequest):
    """Reconcile many clients the same way, at most ``max_parallel`` at once (waiting for sign-off frees a slot)."""

    client_id: str = Field(default="", max_length=0, description="Not used: give ``clients``.")
    campaign: str = Field(pattern=CAMPAIGN_PATTERN, description="Campaign label (its id).")
    clients: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,49}$")]] = Field(
        min_length=1, max_length=MAX_CLIENTS, description="Client ids, each reconciled once."
    )
    max_parallel: int = Field(default=10, ge=1, le=100, description="Reconciliations running at once.")


@router.post("/reconciliation-campaigns", status_code=202, responses=error_responses(*AUTHENTICATED, 403))
async def start_a_campaign(body: CampaignRequest, request: Request, caller: Operator) -> Any:
    """Start a campaign; 202 with its id and status URL (the same label again returns the running one)."""
    services: ApiServices = request.app.state.services
    fields = body.model_dump(exclude={"campaign", "clients", "max_parallel"}) | {"client_id": body.clients[0]}
    template = _reconciliation(ReconciliationRequest(**fields), request)
    try:
        campaign = campaign_input(body.campaign, template, list(body.clients), body.max_parallel)
    except InvalidReconciliationRequest as error:
        return _refusal(error)
    workflow_id = await start_campaign(services.client, services.task_queue, campaign)
    return {
        "campaign": body.campaign,
        "workflow_id": workflow_id,
        "status_url": f"/reconciliation-campaigns/{body.campaign}",
    }


@router.get("/reconciliation-campaigns/{campaign}", responses=error_responses(*AUTHENTICATED, 403, 404))
async def a_campaign(
    campaign: Annotated[str, Path(pattern=CAMPAIGN_PATTERN)], request: Request, caller: Operator
) -> dict[str, Any]:
    """Each client's outcome so far (queued, running, awaiting-signoff, approved, rejected, failed...)."""
    services: ApiServices = request.app.state.services
    try:
        view = await campaign_status(services.client, campaign)
    except CampaignNotFound as error:
        raise HTTPException(404, str(error)) from None
    return dataclasses.asdict(view)
