"""The booking view never pairs newer saga progress with an older Postgres row.

Each saga step commits the booking's row (RESERVED, then CONFIRMED with its reference)
before the workflow's progress moves on. A view that read the row before asking the
workflow could land between the two and list ``confirm_booking`` as done, or the saga as
COMPLETED, beside a RESERVED booking. Here the step commits while the view is asking the
workflow, the moment that tore the view.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update
from temporalio.client import WorkflowExecutionStatus

from activities.booking.activities import booking_reference
from activities.booking.contracts import BookingProgress
from activities.common.db import SessionMaker
from activities.models.booking import Booking
from tests.support.stub_temporal import Described, GoneWorkflow, OneWorkflowClient
from worker.services.booking import BookingNotFound, booking_status, workflow_id

FORWARD = ["reserve_seats", "reserve_booking", "collect_payment", "confirm_booking"]


def _booking(booking_id: str, status: str, owner: str | None = None) -> Booking:
    return Booking(
        booking_id=booking_id,
        customer_id="cust-1",
        outbound_flight_id="SW100",
        return_flight_id=None,
        amount=Decimal("120.00"),
        currency="EUR",
        status=status,
        owner=owner,
    )


async def _confirm(sessions: SessionMaker, booking_id: str) -> None:
    """What the confirm step commits."""
    async with sessions.begin() as session:
        await session.execute(
            update(Booking)
            .where(Booking.booking_id == booking_id)
            .values(status="CONFIRMED", reference=booking_reference(booking_id))
        )


def _confirmed(booking_id: str) -> BookingProgress:
    return BookingProgress(
        status="CONFIRMED", current_step="notify", completed_steps=FORWARD, reference=booking_reference(booking_id)
    )


class _ConfirmingMidQuery:
    """A running saga whose confirm step commits just before its progress lists it as done."""

    def __init__(self, sessions: SessionMaker, booking_id: str) -> None:
        self._sessions = sessions
        self._booking_id = booking_id

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING)

    async def query(self, query: Any, *args: Any, **kwargs: Any) -> BookingProgress:
        await _confirm(self._sessions, self._booking_id)
        return _confirmed(self._booking_id)


class _ConfirmingAndCompleting:
    """A saga whose confirm step commits just before Temporal reports it COMPLETED."""

    def __init__(self, sessions: SessionMaker, booking_id: str) -> None:
        self._sessions = sessions
        self._booking_id = booking_id

    async def describe(self) -> Described:
        await _confirm(self._sessions, self._booking_id)
        return Described(WorkflowExecutionStatus.COMPLETED)

    async def result(self, follow_runs: bool = True) -> dict[str, Any]:
        return asdict(_confirmed(self._booking_id)) | {"booking_id": self._booking_id, "current_step": None}


class _StartedNoRowYet:
    """A saga that has not reserved its booking row yet (the owner is only in the memo)."""

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING, owner="partner-a")

    async def query(self, query: Any, *args: Any, **kwargs: Any) -> BookingProgress:
        return BookingProgress(status="RUNNING", current_step="reserve_seats")


def _booking_id() -> str:
    return f"bk-view-{uuid.uuid4().hex[:8]}"


async def test_progress_listing_confirmation_comes_with_the_confirmed_row(sessions: SessionMaker) -> None:
    booking_id = _booking_id()
    async with sessions.begin() as session:
        session.add(_booking(booking_id, "RESERVED"))
    client = OneWorkflowClient(_ConfirmingMidQuery(sessions, booking_id))
    view = await booking_status(client, sessions, booking_id)  # type: ignore[arg-type]
    assert client.asked == [workflow_id(booking_id)]
    assert view.completed_steps == FORWARD
    assert (view.status, view.reference, view.workflow_status) == (
        "CONFIRMED",
        booking_reference(booking_id),
        "RUNNING",
    )


async def test_a_completed_saga_comes_with_the_confirmed_row(sessions: SessionMaker) -> None:
    booking_id = _booking_id()
    async with sessions.begin() as session:
        session.add(_booking(booking_id, "RESERVED"))
    view = await booking_status(OneWorkflowClient(_ConfirmingAndCompleting(sessions, booking_id)), sessions, booking_id)  # type: ignore[arg-type]
    assert (view.workflow_status, view.status, view.reference) == (
        "COMPLETED",
        "CONFIRMED",
        booking_reference(booking_id),
    )
    assert view.completed_steps == FORWARD


async def test_a_saga_without_its_row_yet_is_pending_and_owned_by_the_memo(sessions: SessionMaker) -> None:
    booking_id = _booking_id()
    view = await booking_status(OneWorkflowClient(_StartedNoRowYet()), sessions, booking_id)  # type: ignore[arg-type]
    assert (view.status, view.owner, view.current_step, view.workflow_status) == (
        "PENDING",
        "partner-a",
        "reserve_seats",
        "RUNNING",
    )


async def test_a_booking_neither_temporal_nor_postgres_knows_is_not_found(sessions: SessionMaker) -> None:
    with pytest.raises(BookingNotFound):
        await booking_status(OneWorkflowClient(GoneWorkflow()), sessions, _booking_id())  # type: ignore[arg-type]


async def test_a_finished_booking_gone_from_temporal_is_read_from_postgres(sessions: SessionMaker) -> None:
    booking_id = _booking_id()
    async with sessions.begin() as session:
        session.add(_booking(booking_id, "CANCELLED", owner="partner-b"))
    view = await booking_status(OneWorkflowClient(GoneWorkflow()), sessions, booking_id)  # type: ignore[arg-type]
    assert (view.status, view.workflow_status, view.owner, view.completed_steps) == (
        "CANCELLED",
        None,
        "partner-b",
        [],
    )
