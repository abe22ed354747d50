"""Operator endpoints: what waits for a human, decisions on it (one or in bulk), the decision
log, and the dead-letter queues with redrive. Operator role only; a decision is audited
under the signed-in operator's name, taken from the token."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, WithJsonSchema

from activities.common.contracts import ACTIONS, StepDecision
from activities.common.resources import Resources
from worker.api.app import ApiServices, api_aws
from worker.api.auth import Operator
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import Line, Text, refuse_nul_in_json
from worker.services.audit import DecisionFilter, list_decisions
from worker.services.dead_letters import DeadLetterNotFound, RedriveRefused, peek, redrive
from worker.services.operations import (
    PIPELINES,
    AttentionFilter,
    DecisionRejected,
    ExecutionNotFound,
    decide_many,
    find_attention,
    list_attention,
    send_decision,
)
from worker.settings import LONGEST_WAIT_SECONDS
from workflows.common.form_answers import ANSWER_PATTERN, MAX_ANSWER, MAX_ANSWER_NAME, MAX_ANSWERS

router = APIRouter(tags=["operations"])

WorkflowId = Annotated[Line, Path(min_length=1, max_length=1000, description="The waiting workflow's id.")]


def _known_pipeline(name: str) -> str:
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline; one of {', '.join(PIPELINES)}")
    return name


Pipeline = Annotated[str, AfterValidator(_known_pipeline), WithJsonSchema({"type": "string", "enum": list(PIPELINES)})]
DeadLetterPipeline = Literal[
    "booking", "media", "b2b", "b2b-intake", "recon", "poller", "translation-intake", "documents-intake"
]
Substitute = Annotated[Any, AfterValidator(refuse_nul_in_json)]
AnswerName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ANSWER_NAME, pattern=ANSWER_PATTERN)]
"""A form field's name: one line of at most 64 characters (the gate's rule, ``workflows.common.form_answers``)."""
AnswerValue = Annotated[str, StringConstraints(max_length=MAX_ANSWER, pattern=ANSWER_PATTERN)]
"""An answer: one line of at most 500 characters (the gate checks it against the field's kind)."""


def _answers_schema(schema: dict[str, Any]) -> None:
    """Name the keys' rule in ``propertyNames`` (pydantic puts a key pattern in ``patternProperties``)."""
    schema.pop("patternProperties", None)
    line = {"type": "string", "pattern": ANSWER_PATTERN}
    schema["propertyNames"] = {**line, "minLength": 1, "maxLength": MAX_ANSWER_NAME}
    schema["additionalProperties"] = {**line, "maxLength": MAX_ANSWER}


class DecisionRequest(BaseModel):
    """A decision on a waiting step or gate; the operator is the token's owner."""

    step: Line = Field(min_length=1, max_length=200, description="The waiting step.")
    action: str = Field(pattern="^(" + "|".join(ACTIONS) + ")$", description="retry, skip, abort, approve, reject.")
    reason: Text = Field(default="", max_length=2000, description="Why (audited).")
    decision_id: Line = Field(default="", max_length=200, description="Idempotency key; repeats are applied once.")
    substitute_output: Substitute = Field(
        default=None, description="skip only: output to continue with (no NUL in any string)."
    )
    answers: dict[AnswerName, AnswerValue] = Field(
        default_factory=dict,
        max_length=MAX_ANSWERS,
        description="approve at a gate with a form only: one answer per form field, by field name (the extracted "
        "value to confirm it, another to correct it). The gate refuses (409) an approval that misses a field or "
        "answers one invalidly for its kind, and answers on any other decision. At most 50; names up to 64 "
        "characters, values up to 500; names and values are one line each: no control character (tab included), "
        "DEL, C1 control (U+0080-U+009F, NEL U+0085 among them), or line/paragraph separator (U+2028, U+2029).",
        json_schema_extra=_answers_schema,
    )


class Selection(BaseModel):
    """Which waiting executions a bulk decision covers; empty fields match all."""

    pipeline: Pipeline | None = Field(default=None, description="Only this pipeline.")
    step: Line = Field(default="", max_length=200, description="The parked step or gate; `compare:*` matches a prefix.")
    error_type: Line = Field(default="", max_length=200, description="Only steps whose last error has this type.")
    min_age_seconds: float = Field(default=0, ge=0, le=LONGEST_WAIT_SECONDS, description="Waiting at least this long.")


class BulkDecisionRequest(BaseModel):
    """One decision for every execution the selection matches, sent and audited one by one."""

    selection: Selection
    action: str = Field(pattern="^(" + "|".join(ACTIONS) + ")$", description="retry, skip, abort, approve, reject.")
    reason: Text = Field(default="", max_length=2000, description="Why (audited with each decision).")
    substitute_output: Substitute = Field(default=None, description="skip only: the same substitute for each.")
    dry_run: bool = Field(default=False, description="Only say which executions match.")
    batch_id: Line = Field(default="", max_length=100, description="Idempotency key of the whole bulk request.")
    expected_count: int | None = Field(
        default=None, ge=0, description="Refuse (409) unless exactly this many match (what the operator saw)."
    )


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


@router.get("/attention", responses=error_responses(401, 403, 503))
async def attention(request: Request, caller: Operator) -> dict[str, Any]:
    """Executions waiting for a human across all pipelines, oldest first."""
    items = await list_attention(_services(request).client)
    return {"items": [item.__dict__ for item in items], "count": len(items)}


@router.post("/workflows/{workflow_id}/decisions", responses=error_responses(*AUTHENTICATED, 403, 404, 409))
async def decide(workflow_id: WorkflowId, body: DecisionRequest, request: Request, caller: Operator) -> dict[str, Any]:
    """Retry, skip or abort a parked step; approve or reject a gate. 409 when the workflow refuses it."""
    decision = StepDecision(operator=caller.name, **body.model_dump())
    try:
        outcome = await send_decision(_services(request).client, workflow_id, decision)
    except DecisionRejected as error:
        raise HTTPException(409, str(error)) from None
    except ExecutionNotFound as error:
        raise HTTPException(404, str(error)) from None
    return outcome.__dict__


@router.post("/decisions/bulk", responses=error_responses(*AUTHENTICATED, 403, 409))
async def decide_in_bulk(body: BulkDecisionRequest, request: Request, caller: Operator) -> dict[str, Any]:
    """Apply one decision to every waiting execution the selection matches; per-execution outcomes.

    Each execution gets its own update and audit row; a refusal for one does not stop the
    others. With ``dry_run`` nothing is sent. 409 when ``expected_count`` is given and the
    number matching now differs (something changed since the operator looked).
    """
    client = _services(request).client
    selection = AttentionFilter(**body.selection.model_dump(exclude_none=True))
    matched = await find_attention(client, selection)
    if body.expected_count is not None and body.expected_count != len(matched):
        raise HTTPException(409, f"expected_count: {body.expected_count} expected, {len(matched)} match now")
    if body.dry_run:
        return {"matched": [item.__dict__ for item in matched], "count": len(matched), "outcomes": []}
    outcomes = await decide_many(
        client,
        matched,
        action=body.action,
        operator=caller.name,
        reason=body.reason,
        batch_id=body.batch_id or f"bulk-{uuid.uuid4()}",
        substitute_output=body.substitute_output,
    )
    return {
        "matched": [item.__dict__ for item in matched],
        "count": len(matched),
        "accepted": sum(1 for o in outcomes if o.accepted),
        "refused": sum(1 for o in outcomes if not o.accepted),
        "outcomes": [o.__dict__ for o in outcomes],
    }


@router.get("/decisions", responses=error_responses(*AUTHENTICATED, 403))
async def decisions(
    request: Request,
    caller: Operator,
    workflow_id: Annotated[Line, Query(max_length=1000, description="Only this execution.")] = "",
    pipeline: Annotated[Pipeline | None, Query(description="Only this pipeline.")] = None,
    operator: Annotated[Line, Query(max_length=200, description="Only this operator's decisions.")] = "",
    since: Annotated[datetime.datetime | None, Query(description="Decided at or after (ISO 8601).")] = None,
    until: Annotated[datetime.datetime | None, Query(description="Decided before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most rows returned, newest first.")] = 200,
) -> dict[str, Any]:
    """The decision log (``step_decisions``): accepted and rejected decisions and redrives, newest first."""
    selection = DecisionFilter(workflow_id, pipeline or "", operator, since, until, limit)
    rows = await list_decisions(_services(request).sessions, selection)
    return {"items": [row.__dict__ for row in rows], "count": len(rows)}


@router.get("/dead-letters/{pipeline}", responses=error_responses(*AUTHENTICATED, 403))
async def dead_letters(pipeline: DeadLetterPipeline, request: Request, caller: Operator) -> dict[str, Any]:
    """What the pipeline's dead-letter queue holds, read without consuming; whether each can be redriven."""
    resources = Resources(prefix=request.app.state.settings.aws.name_prefix)
    letters = await peek(api_aws(request), resources, pipeline)
    return {"items": [letter.__dict__ for letter in letters], "count": len(letters)}


@router.post("/dead-letters/{pipeline}/{message_id}/redrive", responses=error_responses(*AUTHENTICATED, 403, 404, 409))
async def redrive_dead_letter(
    pipeline: DeadLetterPipeline,
    message_id: Annotated[Line, Path(min_length=1, max_length=200)],
    request: Request,
    caller: Operator,
) -> dict[str, Any]:
    """Start the failed case again with the same input and key, audit it, then remove the message.

    409 when it is not redrivable (a business outcome, or the case has run again since).
    """
    services = _services(request)
    try:
        done = await redrive(
            services.client,
            api_aws(request),
            services.sessions,
            Resources(prefix=request.app.state.settings.aws.name_prefix),
            pipeline=pipeline,
            message_id=message_id,
            operator=caller.name,
            task_queue=services.task_queue,
            via="api",
        )
    except DeadLetterNotFound as error:
        raise HTTPException(404, str(error)) from None
    except RedriveRefused as error:
        raise HTTPException(409, f"not redrivable: {error}") from None
    return done.__dict__
