"""Operator endpoints: what waits for a human, and decisions on it (operator role only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import AfterValidator, BaseModel, Field

from activities.common.contracts import ACTIONS, StepDecision
from worker.api.app import ApiServices
from worker.api.auth import Operator
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import Line, Text, refuse_nul_in_json
from worker.services.operations import DecisionRejected, ExecutionNotFound, list_attention, send_decision

router = APIRouter(tags=["operations"])

WorkflowId = Annotated[Line, Path(min_length=1, max_length=1000, description="The waiting workflow's id.")]


class DecisionRequest(BaseModel):
    """A decision on a waiting step or gate."""

    step: Line = Field(min_length=1, max_length=200, description="The waiting step.")
    action: str = Field(pattern="^(" + "|".join(ACTIONS) + ")$", description="retry, skip, abort, approve, reject.")
    operator: Line = Field(min_length=1, max_length=200, description="Who decides (audited).")
    reason: Text = Field(default="", max_length=2000, description="Why (audited).")
    decision_id: Line = Field(default="", max_length=200, description="Idempotency key; repeats are applied once.")
    substitute_output: Annotated[Any, AfterValidator(refuse_nul_in_json)] = Field(
        default=None, description="skip only: output to continue with (no NUL in any string)."
    )


@router.get("/attention", responses=error_responses(401, 403, 503))
async def attention(request: Request, caller: Operator) -> dict[str, Any]:
    """Executions waiting for a human across all pipelines, oldest first."""
    services: ApiServices = request.app.state.services
    items = await list_attention(services.client)
    return {"items": [item.__dict__ for item in items]}


@router.post("/workflows/{workflow_id}/decisions", responses=error_responses(*AUTHENTICATED, 403, 404, 409))
async def decide(workflow_id: WorkflowId, body: DecisionRequest, request: Request, caller: Operator) -> dict[str, Any]:
    """Retry, skip or abort a parked step; approve or reject a gate. 409 when the workflow refuses it."""
    services: ApiServices = request.app.state.services
    decision = StepDecision(**body.model_dump())
    try:
        outcome = await send_decision(services.client, workflow_id, decision)
    except DecisionRejected as error:
        raise HTTPException(409, str(error)) from None
    except ExecutionNotFound as error:
        raise HTTPException(404, str(error)) from None
    return outcome.__dict__
