"""Shared pieces of the booking saga tests: a flight of one's own, a request, the world's state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from activities.booking.contracts import BookingRequest
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.booking import Booking, Payment
from tests.support.world import QueueReader, seat_capacity
from worker.devstack.seed import seed_flights


def new_flight(resources: Resources, seats: int) -> str:
    """A flight no other test uses, with ``seats`` seats."""
    flight_id = f"FL-T{uuid.uuid4().hex[:8].upper()}"
    seed_flights(resources, {flight_id: seats})
    return flight_id


def booking_request(flight_id: str, token: str = "tok_visa", **overrides: Any) -> BookingRequest:
    """A request with a fresh request id."""
    values: dict[str, Any] = {
        "request_id": f"req-{uuid.uuid4().hex[:12]}",
        "customer_id": "cust-42",
        "outbound_flight_id": flight_id,
        "amount": "120.00",
        "currency": "EUR",
        "payment_token": token,
    }
    values.update(overrides)
    return BookingRequest(**values)


@dataclass
class World:
    """What a test inspects after a saga."""

    aws: AwsClients
    sessions: SessionMaker
    resources: Resources
    payments: Any
    notifications: QueueReader
    dead_letters: QueueReader

    async def capacity(self, flight_id: str) -> int:
        """Seats left."""
        return await seat_capacity(self.aws, self.resources.flights_table, flight_id)

    async def booking(self, booking_id: str) -> Booking | None:
        """The booking row."""
        async with self.sessions() as session:
            return await session.get(Booking, booking_id)

    async def payment(self, booking_id: str) -> Payment | None:
        """The payment row."""
        async with self.sessions() as session:
            return await session.scalar(select(Payment).where(Payment.booking_id == booking_id))

    def charges(self, booking_id: str) -> list[dict[str, Any]]:
        """The provider's charges for the booking."""
        return [c for c in self.payments.charges.values() if c["booking_id"] == booking_id]

    def refunds(self, booking_id: str) -> list[dict[str, Any]]:
        """The provider's refunds of the booking's charges."""
        charge_ids = {c["id"] for c in self.charges(booking_id)}
        return [r for r in self.payments.refunds.values() if r["charge_id"] in charge_ids]

    async def reservation_status(self, booking_id: str, flight_id: str) -> str | None:
        """HELD, RELEASED or None."""
        item = await self.aws.call(
            "dynamodb",
            "get_item",
            TableName=self.resources.seat_reservations_table,
            Key={"reservationId": {"S": f"{booking_id}#{flight_id}"}},
        )
        return item["Item"]["status"]["S"] if "Item" in item else None
