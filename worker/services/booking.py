"""Booking operations for the API and the CLI.

A booking's id is the client's request id and its workflow id is ``booking-<id>``:
submitting the same request twice finds the first workflow (running or finished)
instead of starting a second one; the same id with different content is a conflict.
A booking a partner submitted names that partner as its owner (memo and row); the
API decides from :func:`booking_owner` who may read or cancel it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.booking.contracts import BookingProgress, BookingRequest, CancelRequest
from activities.common.db import SessionMaker
from activities.models.booking import Booking, Payment
from worker.services.starting import OWNER_MEMO, BusinessKeyReused, NoSuchRecord, record_owner, start_once
from workflows.booking.workflow import BookingWorkflow


class BookingNotFound(LookupError):
    """No booking and no workflow with this id."""


class BookingConflict(ValueError):
    """The request id was used before with different content."""


class CancellationRejected(ValueError):
    """The booking can no longer be cancelled; the message says why."""


@dataclass(frozen=True)
class Submitted:
    """The booking a submission maps to."""

    booking_id: str
    workflow_id: str
    created: bool
    """False when the request id was already known (nothing new was started)."""


@dataclass(frozen=True)
class BookingView:
    """Everything known about a booking: its Postgres record and, while it runs, its progress."""

    booking_id: str
    workflow_id: str
    status: str
    reference: str | None = None
    failed_step: str | None = None
    failure_reason: str | None = None
    customer_id: str | None = None
    flights: list[str] = field(default_factory=list)
    amount: str | None = None
    currency: str | None = None
    payment: dict[str, Any] | None = None
    current_step: str | None = None
    completed_steps: list[str] = field(default_factory=list)
    compensations_run: list[str] = field(default_factory=list)
    workflow_status: str | None = None
    owner: str | None = None
    """The partner who submitted the booking; None when an operator did."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def workflow_id(booking_id: str) -> str:
    """The workflow id of a booking."""
    return f"booking-{booking_id}"


async def submit_booking(client: Client, task_queue: str, request: BookingRequest) -> Submitted:
    """Start the saga, or find the one this request id already started."""
    wid = workflow_id(request.request_id)
    try:
        created = await start_once(
            client,
            BookingWorkflow.run,
            request,
            workflow_id=wid,
            task_queue=task_queue,
            pipeline="booking",
            business_key=request.request_id,
            owner=request.owner,
        )
    except BusinessKeyReused:
        raise BookingConflict(f"request id {request.request_id!r} was already used for a different booking") from None
    return Submitted(request.request_id, wid, created=created)


async def booking_status(client: Client, sessions: SessionMaker, booking_id: str) -> BookingView:
    """The booking's record and live progress.

    The workflow is asked first: each saga step commits the booking's row before the
    workflow's progress moves on, so the row read afterwards is never older than the
    progress shown (read the other way round, a view could list ``confirm_booking`` as
    done, or the saga as COMPLETED, beside a RESERVED booking).
    """
    handle = client.get_workflow_handle(workflow_id(booking_id))
    progress: BookingProgress | None = None
    workflow_status: str | None = None
    owner: str | None = None
    try:
        description = await handle.describe()
        workflow_status = description.status.name if description.status else None
        owner = await description.memo_value(OWNER_MEMO, default=None)
        if description.status == WorkflowExecutionStatus.RUNNING:
            progress = await handle.query(BookingWorkflow.progress)
        elif description.status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED):
            progress = await _final_progress(handle)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    async with sessions() as session:
        row = await session.get(Booking, booking_id)
        payment = await session.scalar(select(Payment).where(Payment.booking_id == booking_id))
    if row is None and workflow_status is None:
        raise BookingNotFound(f"no booking {booking_id!r}")
    view = BookingView(
        booking_id=booking_id,
        workflow_id=workflow_id(booking_id),
        status=row.status if row else "PENDING",
        workflow_status=workflow_status,
        owner=row.owner if row else owner,
    )
    if row is not None:
        view = _with_record(view, row, payment)
    if progress is not None:
        view = _with_progress(view, progress)
    return view


async def booking_owner(client: Client, sessions: SessionMaker, booking_id: str) -> str | None:
    """The partner who submitted the booking (None: an operator); :class:`BookingNotFound` if none exists."""
    try:
        return await record_owner(client, sessions, Booking, booking_id, workflow_id(booking_id))
    except NoSuchRecord:
        raise BookingNotFound(f"no booking {booking_id!r}") from None


async def _final_progress(handle: WorkflowHandle[Any, Any]) -> BookingProgress:
    """The progress a finished saga recorded in its result (read from history, no replay).

    A failed saga carries the same result as its failure's details.
    """
    try:
        ended = await handle.result(follow_runs=False)
    except WorkflowFailureError as failure:
        details = failure.cause.details if isinstance(failure.cause, ApplicationError) else ()
        ended = details[0] if details else None
    recorded: dict[str, Any] = ended if isinstance(ended, dict) else {"status": "FAILED"}
    fields = BookingProgress.__dataclass_fields__
    progress: dict[str, Any] = {"current_step": None, **{k: v for k, v in recorded.items() if k in fields}}
    return BookingProgress(**progress)


def _with_record(view: BookingView, row: Booking, payment: Payment | None) -> BookingView:
    return BookingView(
        **{
            **view.as_dict(),
            "reference": row.reference,
            "failed_step": row.failed_step,
            "failure_reason": row.failure_reason,
            "customer_id": row.customer_id,
            "flights": [f for f in (row.outbound_flight_id, row.return_flight_id) if f],
            "amount": str(row.amount),
            "currency": row.currency,
            "payment": None
            if payment is None
            else {"charge_id": payment.charge_id, "status": payment.status, "refund_id": payment.refund_id},
        }
    )


def _with_progress(view: BookingView, progress: BookingProgress) -> BookingView:
    return BookingView(
        **{
            **view.as_dict(),
            "current_step": progress.current_step,
            "completed_steps": progress.completed_steps,
            "compensations_run": progress.compensations_run,
        }
    )


async def cancel_booking(client: Client, booking_id: str, reason: str) -> BookingProgress:
    """Ask the saga to cancel; raises :class:`CancellationRejected` after confirmation began."""
    handle = client.get_workflow_handle(workflow_id(booking_id))
    try:
        return await handle.execute_update(BookingWorkflow.request_cancel, CancelRequest(reason))
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise CancellationRejected(message) from None
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            try:
                description = await handle.describe()
            except RPCError:
                raise BookingNotFound(f"no booking {booking_id!r}") from None
            ended = description.status.name if description.status else "CLOSED"
            raise CancellationRejected(
                f"booking {booking_id} can no longer be cancelled: its saga has ended ({ended})"
            ) from None
        raise
