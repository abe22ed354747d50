"""B2B API: partners submit real-time transactions and read their transactions and batches.

``POST /partners/{partner}/transactions`` takes the article's form encoding
(``transactionId=12&transactionMessage=...``) or the same fields as JSON, and answers
202 with a status URL. The same TransactionID with the same content is the same
transaction (202 again); with different content it is 409. A partner may act only as
itself (403 otherwise); operators read every partner's records. Partner requests are
rate-limited per partner across every API replica (429 with ``Retry-After``; the
buckets are in PostgreSQL, see :mod:`worker.api.ratelimit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from activities.b2b.records import Submission, transaction_workflow_id, valid_partner_id
from activities.b2b.xml_file import MAX_NOTES_CHARS, TRANSACTION_ID_PATTERN
from worker.api.app import ApiServices
from worker.api.auth import Caller
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import Line, Text
from worker.api.ratelimit import RateLimitedCaller
from worker.services.b2b import BatchView, TransactionConflict, TransactionView, get_batch, get_transaction
from worker.services.b2b import submit_transaction as submit
from worker.settings import PARTNER_ID_PATTERN

PartnerId = Annotated[str, Path(pattern=PARTNER_ID_PATTERN, description="The partner's id")]
TransactionId = Annotated[str, Path(pattern=TRANSACTION_ID_PATTERN.pattern, description="The partner's TransactionID")]
BatchId = Annotated[Line, Path(min_length=1, max_length=100, description="The batch id the intake reported")]
PARTNER_ERRORS = (*AUTHENTICATED, 403, 429)
"""What every partner route may answer besides success."""

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class TransactionSubmission(BaseModel):
    """One real-time transaction, named as in the article."""

    transactionId: str = Field(pattern=TRANSACTION_ID_PATTERN.pattern)
    """The partner's TransactionID: 1-64 letters, digits, '_', '.', ':' or '-'."""
    transactionMessage: Text = Field(min_length=1, max_length=MAX_NOTES_CHARS)
    """The note, e.g. "Transaction made between user 687 and user 329."."""


class SubmissionAccepted(BaseModel):
    """The answer to a submission."""

    partner_id: str
    transaction_id: str
    status: str
    status_url: str
    workflow_id: str
    resubmission: bool
    """True when this TransactionID had already been submitted with the same content."""


async def partner_caller(caller: RateLimitedCaller, partner: PartnerId) -> Caller:
    """The caller, rate-limited if a partner, and allowed to act for ``partner`` (else 403)."""
    if not caller.may_access_partner(partner):
        raise HTTPException(403, f"not allowed to act for partner {partner}")
    if not valid_partner_id(partner):  # "batch": its ids would be the batches' workflow ids
        raise HTTPException(404, f"no partner {partner}")
    return caller


PartnerCaller = Annotated[Caller, Depends(partner_caller)]
router = APIRouter(prefix="/partners/{partner}", tags=["b2b"])


@router.post(
    "/transactions",
    status_code=202,
    response_model=SubmissionAccepted,
    responses=error_responses(*PARTNER_ERRORS, 409, 415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": TransactionSubmission.model_json_schema()},
                "application/json": {"schema": TransactionSubmission.model_json_schema()},
            },
        }
    },
)
async def submit_transaction(request: Request, partner: PartnerId, caller: PartnerCaller) -> JSONResponse:
    """Submit one transaction (form-encoded as in the article, or JSON); 202 with its status URL."""
    body = await _submission(request)
    services: ApiServices = request.app.state.services
    submission = Submission(partner, body.transactionId, body.transactionMessage, "realtime")
    try:
        admission = await submit(services.client, services.sessions, services.task_queue, submission)
    except TransactionConflict as conflict:
        raise HTTPException(409, str(conflict)) from None
    status_url = _url(request, f"/partners/{partner}/transactions/{body.transactionId}")
    accepted = SubmissionAccepted(
        partner_id=partner,
        transaction_id=body.transactionId,
        status=admission.status,
        status_url=status_url,
        workflow_id=transaction_workflow_id(partner, body.transactionId),
        resubmission=admission.verdict == "same",
    )
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": status_url})


@router.get("/transactions/{transaction_id}", responses=error_responses(*PARTNER_ERRORS, 404))
async def read_transaction(
    request: Request, partner: PartnerId, transaction_id: TransactionId, caller: PartnerCaller
) -> TransactionView:
    """A transaction's status and status trail."""
    found = await get_transaction(request.app.state.services.sessions, partner, transaction_id)
    if found is None:
        raise HTTPException(404, f"no transaction {transaction_id} for partner {partner}")
    return found


@router.get("/batches/{batch_id}", responses=error_responses(*PARTNER_ERRORS, 404))
async def read_batch(request: Request, partner: PartnerId, batch_id: BatchId, caller: PartnerCaller) -> BatchView:
    """A batch file's status, counts, first rejected records and report."""
    found = await get_batch(request.app.state.services.sessions, partner, batch_id)
    if found is None:
        raise HTTPException(404, f"no batch {batch_id} for partner {partner}")
    return found


async def _submission(request: Request) -> TransactionSubmission:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if content_type in FORM_TYPES:
        data = dict(await request.form())
    elif content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "body is not valid JSON", "type": "json"}]
            ) from None
    else:
        raise HTTPException(415, "send application/x-www-form-urlencoded or application/json")
    try:
        return TransactionSubmission.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None


def _url(request: Request, path: str) -> str:
    base = request.app.state.settings.api.public_url or str(request.base_url)
    return base.rstrip("/") + path
