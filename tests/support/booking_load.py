"""Many bookings through the saga at once, and the checks that none was lost or doubled.

Fault tests submit bookings at a steady pace (so some are in flight whenever the fault
strikes), wait for every workflow to close (riding out a Temporal server that is briefly
away), and then read the world: the booking rows in Postgres, the provider's charges and
refunds, the seats and reservations in DynamoDB, the notification ledger, the SNS messages
and the dead letters. :func:`settled_bookings` fails on the first booking that broke a rule
and otherwise returns the tally the test prints.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from activities.booking.contracts import BookingRequest
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.booking import Booking, Payment
from activities.models.common import NotificationLedger
from tests.e2e.booking_support import World, booking_request
from tests.support.world import QueueReader
from worker.services.booking import submit_booking, workflow_id
from workflows.booking.workflow import BookingWorkflow

NOTIFICATION_KIND = {"CONFIRMED": "confirmed", "CANCELLED": "failed"}
"""The ledger's kind of the one notification a booking in each final status gets."""


async def world_of(aws: AwsClients, sessions: SessionMaker, resources: Resources, payments: Any) -> World:
    """The booking world of a set of resources, with a queue of its own on the notification topic."""
    return World(
        aws=aws,
        sessions=sessions,
        resources=resources,
        payments=payments,
        notifications=await QueueReader.subscribed_to(aws, resources.booking_notifications_topic),
        dead_letters=await QueueReader.of_queue(aws, resources.booking_dlq),
    )


def mixed_requests(
    flight_id: str, count: int, *, declined_every: int | None = 10, token: str = "tok_visa"
) -> list[BookingRequest]:
    """``count`` bookings on one flight; every ``declined_every``-th card (if any) is declined."""

    def declined(index: int) -> bool:
        return declined_every is not None and index % declined_every == declined_every - 1

    return [booking_request(flight_id, token="tok_declined" if declined(i) else token) for i in range(count)]


async def submit_paced(client: Client, task_queue: str, requests: list[BookingRequest], over_seconds: float) -> None:
    """Submit the bookings evenly spread over ``over_seconds``."""
    interval = over_seconds / max(len(requests), 1)
    start = time.monotonic()
    for index, request in enumerate(requests):
        await asyncio.sleep(max(0.0, start + index * interval - time.monotonic()))
        await submit_booking(client, task_queue, request)


async def closed(client: Client, booking_id: str, deadline: float) -> str:
    """Wait for the booking's workflow to close: COMPLETED or FAILED (a compensated saga)."""
    handle = client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(booking_id))
    while True:
        try:
            await asyncio.wait_for(handle.result(), max(1.0, deadline - time.monotonic()))
            return "COMPLETED"
        except WorkflowFailureError:
            return "FAILED"
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)  # the server is away; ask again when it is back


async def all_closed(client: Client, requests: list[BookingRequest], timeout: float) -> Counter[str]:
    """Wait for every booking's workflow to close; count the closing statuses."""
    deadline = time.monotonic() + timeout
    outcomes = await asyncio.gather(*(closed(client, r.request_id, deadline) for r in requests))
    return Counter(outcomes)


@dataclass(frozen=True)
class BookingTally:
    """How a load of bookings ended."""

    confirmed: int
    cancelled: int
    repeated_sns_messages: int
    """SNS deliveries beyond the first of one notification key (the ledger's documented residual window)."""

    def __str__(self) -> str:
        return f"{self.confirmed} confirmed, {self.cancelled} cancelled, {self.repeated_sns_messages} repeated SNS"


async def settled_bookings(
    world: World, flight_id: str, initial_seats: int, requests: list[BookingRequest]
) -> BookingTally:
    """Assert every booking ended whole and once; return the tally."""
    ids = [r.request_id for r in requests]
    rows, payments, ledger = await _records(world.sessions, ids)
    assert set(rows) == set(ids), f"bookings without a row: {sorted(set(ids) - set(rows))[:5]}"
    notified = await _notifications_by_booking(world.notifications)
    # Like the SNS notices, a dead letter can repeat in the ledger's documented window (the
    # worker dies after SQS accepted it and before the ledger commit); consumers dedupe on
    # its notification_key, so the rule is one distinct dead letter per cancelled booking.
    dead = Counter(m["booking_id"] for m in await world.dead_letters.distinct())
    for booking_id, row in rows.items():
        await _settled(
            world, flight_id, row, payments.get(booking_id), ledger, notified.get(booking_id, []), dead[booking_id]
        )
    confirmed = sum(1 for row in rows.values() if row.status == "CONFIRMED")
    assert await world.capacity(flight_id) == initial_seats - confirmed
    repeated = sum(len(messages) - 1 for messages in notified.values() if messages)
    return BookingTally(confirmed, len(rows) - confirmed, repeated)


async def _settled(
    world: World,
    flight_id: str,
    row: Booking,
    payment: Payment | None,
    ledger: dict[str, NotificationLedger],
    notified: list[str],
    dead_letters: int,
) -> None:
    booking_id = row.booking_id
    assert row.status in NOTIFICATION_KIND, f"{booking_id} ended {row.status}"
    charges, refunds = world.charges(booking_id), world.refunds(booking_id)
    seat = await world.reservation_status(booking_id, flight_id)
    if row.status == "CONFIRMED":
        assert len(charges) == 1 and not refunds, f"{booking_id}: {len(charges)} charges, {len(refunds)} refunds"
        assert payment is not None and payment.charge_id == charges[0]["id"], f"{booking_id}: payment row"
        assert seat == "HELD", f"{booking_id}: seat {seat}"
        assert dead_letters == 0, f"confirmed {booking_id} was dead-lettered"
    else:
        assert len(refunds) == len(charges) <= 1, f"{booking_id}: {len(charges)} charges, {len(refunds)} refunds"
        assert seat in ("RELEASED", None), f"cancelled {booking_id} holds its seat"
        assert dead_letters == 1, f"cancelled {booking_id}: {dead_letters} dead letters"
    kind = NOTIFICATION_KIND[row.status]
    keys = {key for key in ledger if key.startswith(f"booking:{booking_id}:") and not key.endswith(":dead-letter")}
    assert keys == {f"booking:{booking_id}:{kind}"}, f"{booking_id} ledger: {keys}"
    assert ledger[f"booking:{booking_id}:{kind}"].message_id is not None, f"{booking_id}: notification unsent"
    # A consumer dedupes on the key; what it sees must be this booking's final status.
    assert set(notified) == {row.status}, f"{booking_id} ({row.status}) notified {notified}"


async def _records(
    sessions: SessionMaker, ids: list[str]
) -> tuple[dict[str, Booking], dict[str, Payment], dict[str, NotificationLedger]]:
    keys = [f"booking:{i}:{kind}" for i in ids for kind in ("confirmed", "failed")]
    async with sessions() as session:
        rows = (await session.scalars(select(Booking).where(Booking.booking_id.in_(ids)))).all()
        payments = (await session.scalars(select(Payment).where(Payment.booking_id.in_(ids)))).all()
        ledger = (
            await session.scalars(select(NotificationLedger).where(NotificationLedger.notification_key.in_(keys)))
        ).all()
    return (
        {r.booking_id: r for r in rows},
        {p.booking_id: p for p in payments},
        {n.notification_key: n for n in ledger},
    )


async def _notifications_by_booking(reader: QueueReader) -> dict[str, list[str]]:
    """Each booking's notified statuses, in arrival order, after the topic's deliveries have landed."""
    seen = -1
    while seen != len(await reader.drain()):  # until a drain finds nothing new
        seen = len(reader.messages)
        await asyncio.sleep(0.5)
    by_booking: dict[str, list[str]] = {}
    for message in reader.messages:
        by_booking.setdefault(message["booking_id"], []).append(message["status"])
    return by_booking
