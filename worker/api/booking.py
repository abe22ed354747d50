"""`/bookings`: submit a booking, read it, cancel it before confirmation.

An operator reaches every booking; a partner creates bookings it owns (ids in its own
namespace, see :mod:`worker.api.auth`) and reads or cancels only those: another's
booking answers 404 exactly like a missing one.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from activities.booking.contracts import BookingRequest
from activities.common.aws import AwsClients
from activities.common.resources import Resources
from worker.api.app import ApiServices
from worker.api.auth import AnyCaller, Caller, configured_partners
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import Line, Text
from worker.api.ratelimit import RateLimitedCaller
from worker.services import booking as bookings
from worker.services.booking_checks import AMOUNT_PATTERN, InvalidBooking, check_amount_text, validate_booking

router = APIRouter(prefix="/bookings", tags=["bookings"])

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
BOOKING_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,140}$"
"""A booking id: a request id, or a partner's request id under its ``<partner>.`` prefix."""

BookingId = Annotated[str, Path(pattern=BOOKING_ID_PATTERN, description="The booking id the submission returned.")]
# Numbers are accepted too, but only the exact decimal string is documented: a JSON number
# cannot promise two decimal places.


def _amount_as_documented(value: Any) -> Any:
    """A string amount must be written as the document says (a number is taken as it is)."""
    if isinstance(value, str):
        try:
            check_amount_text(value)
        except InvalidBooking as refused:
            raise ValueError(refused.message) from None
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount_as_documented),
    Field(gt=0, max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["120.00"]}),
]


class BookingCreate(BaseModel):
    """A booking request."""

    model_config = ConfigDict(extra="forbid")

    request_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Your idempotency key; the same key returns the same booking."
    )
    customer_id: Line = Field(min_length=1, max_length=200)
    flight_id: str = Field(pattern=ID_PATTERN, description="Outbound flight.")
    return_flight_id: str | None = Field(default=None, pattern=ID_PATTERN)
    amount: Amount = Field(description="Price as a decimal string, e.g. 120.00.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, upper case.")
    payment_token: Line = Field(min_length=1, max_length=200)


class BookingAccepted(BaseModel):
    """Where to follow a submitted booking."""

    booking_id: str
    workflow_id: str
    created: bool
    status_url: str


class CancelBody(BaseModel):
    """Why the customer cancels."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(default="cancelled by customer", min_length=1, max_length=500)


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def _not_found(booking_id: str) -> HTTPException:
    return HTTPException(404, f"no booking {booking_id!r}")


async def _require_own(services: ApiServices, caller: Caller, booking_id: str) -> None:
    """404 unless the booking exists and the caller may reach it (another's looks missing)."""
    try:
        owner = await bookings.booking_owner(services.client, services.sessions, booking_id)
    except bookings.BookingNotFound:
        raise _not_found(booking_id) from None
    if not caller.owns(owner):
        raise _not_found(booking_id)


@router.post("", status_code=202, response_model=BookingAccepted, responses=error_responses(*AUTHENTICATED, 409, 429))
async def submit(
    body: BookingCreate, request: Request, response: Response, caller: RateLimitedCaller
) -> BookingAccepted:
    """Start the booking saga (or find the one this request id started); a partner's booking is its own."""
    booking = BookingRequest(
        request_id=caller.new_id(body.request_id or str(uuid.uuid4()), "request_id", configured_partners(request)),
        customer_id=body.customer_id,
        outbound_flight_id=body.flight_id,
        return_flight_id=body.return_flight_id,
        amount=str(body.amount),
        currency=body.currency,
        payment_token=body.payment_token,
        owner=caller.owner,
    )
    await _refuse_invalid(request, booking)
    services = _services(request)
    try:
        submitted = await bookings.submit_booking(services.client, services.task_queue, booking)
    except bookings.BookingConflict as conflict:
        raise HTTPException(409, str(conflict)) from None
    status_url = str(request.url_for("booking_status", booking_id=submitted.booking_id))
    response.headers["Location"] = status_url
    return BookingAccepted(
        booking_id=submitted.booking_id,
        workflow_id=submitted.workflow_id,
        created=submitted.created,
        status_url=status_url,
    )


class CancelAccepted(BaseModel):
    """A cancellation the saga took."""

    booking_id: str
    accepted: bool
    current_step: str | None = Field(description="The step the saga was in when it took the cancellation.")


@router.get(
    "/{booking_id}",
    name="booking_status",
    response_model=bookings.BookingView,
    responses=error_responses(*AUTHENTICATED, 404),
)
async def status(booking_id: BookingId, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The booking's status, reference or failure reason, and the saga's progress."""
    services = _services(request)
    if not caller.is_operator:  # before any read of the workflow: another's booking is never touched
        await _require_own(services, caller, booking_id)
    try:
        view = await bookings.booking_status(services.client, services.sessions, booking_id)
    except bookings.BookingNotFound:
        raise _not_found(booking_id) from None
    return view.as_dict()


@router.post(
    "/{booking_id}/cancel",
    status_code=202,
    response_model=CancelAccepted,
    responses=error_responses(*AUTHENTICATED, 404, 409),
)
async def cancel(booking_id: BookingId, body: CancelBody, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """Cancel before confirmation; 409 with the reason once it is too late."""
    services = _services(request)
    await _require_own(services, caller, booking_id)
    try:
        progress = await bookings.cancel_booking(services.client, booking_id, body.reason)
    except bookings.BookingNotFound as missing:
        raise HTTPException(404, str(missing)) from None
    except bookings.CancellationRejected as rejected:
        raise HTTPException(409, str(rejected)) from None
    return {"booking_id": booking_id, "accepted": True, "current_step": progress.current_step}


async def _refuse_invalid(request: Request, booking: BookingRequest) -> None:
    """422 naming the field when the currency is not ISO 4217 or a flight does not exist."""
    state = request.app.state
    if getattr(state, "aws", None) is None:
        state.aws = AwsClients()
    try:
        await validate_booking(state.aws, Resources(prefix=state.settings.aws.name_prefix), booking)
    except InvalidBooking as refused:
        problem = {"loc": ("body", refused.field), "msg": refused.message, "type": "value_error"}
        raise RequestValidationError([problem]) from None
