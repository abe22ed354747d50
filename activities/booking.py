"""Booking saga side effects (DESIGN §5.1): seats in DynamoDB, the booking and payment in
Postgres, the payment provider over HTTP, notifications to SNS and the dead-letter queue.

Every activity is idempotent under retries and a killed worker, and every compensation
tolerates "nothing to undo":
* seats: one ``TransactWriteItems`` puts a reservation item keyed by booking + flight
  *and* decrements the capacity, both conditional, so a retried call never takes a second
  seat; releasing flips the reservation HELD -> RELEASED and gives the seat back, once;
* the booking row is inserted with ON CONFLICT DO NOTHING, confirmed and cancelled with
  conditional updates;
* the provider gets an ``Idempotency-Key`` per booking, refunds one per charge;
* notifications and the dead-letter message go through the ledger (``activities.notify``).

Annotations are evaluated (no ``from __future__ import annotations``): every step's input
and result is converted with its dataclass's type hints, and string hints would be
evaluated again on every conversion.
"""

import base64
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.aws import AwsClients
from activities.db import SessionMaker, autocommit
from activities.models import Booking, Payment
from activities.notify import Notifier
from activities.payments import PaymentProvider
from activities.resources import Resources

# Core tables rather than ORM entities: each step is one or two plain statements, and the
# ORM's unit of work would only add per-call overhead.
BOOKINGS = cast(Table, Booking.__table__)
PAYMENTS = cast(Table, Payment.__table__)


@dataclass(frozen=True)
class BookingRequest:
    """What a customer asked for. ``request_id`` is the client's idempotency key and the booking id."""

    request_id: str
    """Client-chosen id; the workflow id is ``booking-<request_id>``."""
    customer_id: str
    """Who is booking."""
    outbound_flight_id: str
    """Flight to take a seat on."""
    amount: str
    """Price as a decimal string (``"120.00"``)."""
    currency: str
    """ISO 4217 code."""
    payment_token: str
    """Provider token of the customer's payment method."""
    return_flight_id: str | None = None
    """Optional return flight, reserved in the same transaction."""
    owner: str | None = None
    """The partner who submitted the booking; None when an operator did (and in older histories)."""

    @property
    def flight_ids(self) -> list[str]:
        """Every flight that needs a seat."""
        return [self.outbound_flight_id] + ([self.return_flight_id] if self.return_flight_id else [])


@dataclass(frozen=True)
class SeatsInput:
    """Seats of one booking."""

    booking_id: str
    flight_ids: list[str]


@dataclass(frozen=True)
class SeatsOutcome:
    """Flights whose seat this call took (or gave back); empty when there was nothing to do."""

    flight_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BookingRef:
    """Identifies a booking."""

    booking_id: str


@dataclass(frozen=True)
class PaymentInput:
    """A charge for a booking."""

    booking_id: str
    amount: str
    currency: str
    payment_token: str


@dataclass(frozen=True)
class PaymentCollected:
    """The provider's charge id."""

    charge_id: str


@dataclass(frozen=True)
class Refunds:
    """Refund ids, one per charge refunded (empty: nothing was charged)."""

    refund_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Confirmation:
    """The booking reference given to the customer."""

    reference: str


@dataclass(frozen=True)
class CancelBookingInput:
    """Mark a booking CANCELLED with why; creates the row if the saga failed before it existed."""

    request: BookingRequest
    failed_step: str
    reason: str


@dataclass(frozen=True)
class BookingMessage:
    """A customer notification or a dead-letter story; ``kind`` makes the ledger key."""

    booking_id: str
    kind: str
    subject: str
    body: str


@dataclass(frozen=True)
class MessageSent:
    """The message id, and whether this attempt sent it (False: the ledger already had it)."""

    message_id: str
    sent_now: bool


def _booking_row(request: BookingRequest) -> dict[str, Any]:
    """The booking's columns that come from the request (status and outcome are the caller's)."""
    return {
        "booking_id": request.request_id,
        "customer_id": request.customer_id,
        "outbound_flight_id": request.outbound_flight_id,
        "return_flight_id": request.return_flight_id,
        "amount": Decimal(request.amount),
        "currency": request.currency,
        "owner": request.owner,
    }


def booking_reference(booking_id: str) -> str:
    """A short reference derived from the booking id, so confirming twice gives the same one."""
    digest = hashlib.sha256(booking_id.encode()).digest()
    return "SW-" + base64.b32encode(digest).decode()[:8]


class BookingActivities:
    """The saga's forward steps and compensations."""

    def __init__(
        self, aws: AwsClients, sessions: SessionMaker, resources: Resources, payments: PaymentProvider
    ) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._payments = payments
        self._notifier = Notifier(aws, sessions)

    @activity.defn
    async def reserve_seats(self, seats: SeatsInput) -> SeatsOutcome:
        """Take one seat on each flight, all or none; a retry after success takes nothing more."""
        items: list[dict[str, Any]] = []
        for flight_id in seats.flight_ids:
            items.append(self._reservation_put(seats.booking_id, flight_id))
            items.append(
                self._capacity_update(
                    flight_id, delta=-1, condition="seatCapacity > :zero", values={":zero": {"N": "0"}}
                )
            )
        try:
            await self._aws.call("dynamodb", "transact_write_items", TransactItems=items)
        except ApplicationError as error:
            if error.type != "TransactionCanceled":
                raise
            return await self._explain_cancelled_reservation(seats, error)
        return SeatsOutcome(seats.flight_ids)

    async def _explain_cancelled_reservation(self, seats: SeatsInput, error: ApplicationError) -> SeatsOutcome:
        reasons: list[str] = error.details[0].get("cancellation_reasons", []) if error.details else []
        # Items alternate: reservation put, capacity update, per flight.
        if any(reason == "ConditionalCheckFailed" for reason in reasons[0::2]):
            held = await self._reservation_status(seats.booking_id, seats.flight_ids[0])
            if held == "HELD":
                return SeatsOutcome()  # an earlier attempt took the seats
            raise ApplicationError(
                f"booking {seats.booking_id}: seats were already released", type="SeatsReleased", non_retryable=True
            )
        for index, flight_id in enumerate(seats.flight_ids):
            if index * 2 + 1 < len(reasons) and reasons[index * 2 + 1] == "ConditionalCheckFailed":
                flight = await self._aws.call(
                    "dynamodb", "get_item", TableName=self._resources.flights_table, Key={"id": {"S": flight_id}}
                )
                if "Item" not in flight:
                    raise ApplicationError(f"no such flight: {flight_id}", type="FlightNotFound", non_retryable=True)
                raise ApplicationError(f"flight {flight_id} is full", type="FlightFull", non_retryable=True)
        raise error

    @activity.defn
    async def release_seats(self, seats: SeatsInput) -> SeatsOutcome:
        """Give back the seats this booking holds; flights it holds none on are left alone."""
        released = []
        for flight_id in seats.flight_ids:
            reservation = self._reservation_key(seats.booking_id, flight_id)
            try:
                await self._aws.call(
                    "dynamodb",
                    "transact_write_items",
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self._resources.seat_reservations_table,
                                "Key": {"reservationId": {"S": reservation}},
                                "UpdateExpression": "SET #status = :released",
                                "ConditionExpression": "#status = :held",
                                "ExpressionAttributeNames": {"#status": "status"},
                                "ExpressionAttributeValues": {":held": {"S": "HELD"}, ":released": {"S": "RELEASED"}},
                            }
                        },
                        self._capacity_update(flight_id, delta=1, condition="attribute_exists(id)"),
                    ],
                )
            except ApplicationError as error:
                if error.type != "TransactionCanceled":
                    raise
                continue  # not held (never taken, or already given back): nothing to undo
            released.append(flight_id)
        return SeatsOutcome(released)

    def _reservation_key(self, booking_id: str, flight_id: str) -> str:
        return f"{booking_id}#{flight_id}"

    def _reservation_put(self, booking_id: str, flight_id: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._resources.seat_reservations_table,
                "Item": {
                    "reservationId": {"S": self._reservation_key(booking_id, flight_id)},
                    "bookingId": {"S": booking_id},
                    "flightId": {"S": flight_id},
                    "status": {"S": "HELD"},
                },
                "ConditionExpression": "attribute_not_exists(reservationId)",
            }
        }

    def _capacity_update(
        self, flight_id: str, *, delta: int, condition: str, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add ``delta`` to the flight's capacity if ``condition`` holds (``values``: its placeholders)."""
        return {
            "Update": {
                "TableName": self._resources.flights_table,
                "Key": {"id": {"S": flight_id}},
                "UpdateExpression": "SET seatCapacity = seatCapacity + :delta",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": {":delta": {"N": str(delta)}, **(values or {})},
            }
        }

    async def _reservation_status(self, booking_id: str, flight_id: str) -> str | None:
        response = await self._aws.call(
            "dynamodb",
            "get_item",
            TableName=self._resources.seat_reservations_table,
            Key={"reservationId": {"S": self._reservation_key(booking_id, flight_id)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return str(item["status"]["S"]) if item else None

    @activity.defn
    async def reserve_booking(self, request: BookingRequest) -> BookingRef:
        """Insert the booking as RESERVED (the article's ReserveBooking); a retry finds it there."""
        try:
            async with autocommit(self._sessions) as connection:
                # One statement on the happy path: the insert returns the new row's status;
                # a retry (the row exists) reads the status the row has now.
                status = await connection.scalar(
                    insert(BOOKINGS)
                    .values(**_booking_row(request), status="RESERVED")
                    .on_conflict_do_nothing(index_elements=[BOOKINGS.c.booking_id])
                    .returning(BOOKINGS.c.status)
                ) or await connection.scalar(
                    select(BOOKINGS.c.status).where(BOOKINGS.c.booking_id == request.request_id)
                )
        except SQLAlchemyError as error:
            raise ApplicationError(
                f"could not reserve booking {request.request_id}: {type(error).__name__}",
                type="BookingReservationError",
            ) from error
        if status == "CANCELLED":
            raise ApplicationError(
                f"booking {request.request_id} was already cancelled", type="BookingCancelled", non_retryable=True
            )
        return BookingRef(request.request_id)

    @activity.defn
    async def collect_payment(self, payment: PaymentInput) -> PaymentCollected:
        """Charge the customer once per booking and record the charge."""
        charge = await self._payments.charge(
            idempotency_key=f"booking:{payment.booking_id}:charge",
            booking_id=payment.booking_id,
            amount=Decimal(payment.amount),
            currency=payment.currency,
            token=payment.payment_token,
        )
        async with autocommit(self._sessions) as connection:
            await connection.execute(
                insert(PAYMENTS)
                .values(
                    booking_id=payment.booking_id,
                    charge_id=charge.charge_id,
                    amount=charge.amount,
                    currency=charge.currency,
                    status="CHARGED",
                )
                .on_conflict_do_nothing(index_elements=[PAYMENTS.c.booking_id])
            )
        return PaymentCollected(charge.charge_id)

    @activity.defn
    async def refund_payment(self, booking: BookingRef) -> Refunds:
        """Refund every charge the provider holds for the booking, including any we never recorded."""
        refund_ids = []
        for charge in await self._payments.charges_for(booking.booking_id):
            refund_id = await self._payments.refund(
                idempotency_key=f"booking:{booking.booking_id}:refund:{charge.charge_id}", charge_id=charge.charge_id
            )
            refund_ids.append(refund_id)
            async with autocommit(self._sessions) as connection:
                await connection.execute(
                    update(PAYMENTS)
                    .where(PAYMENTS.c.booking_id == booking.booking_id, PAYMENTS.c.charge_id == charge.charge_id)
                    .values(status="REFUNDED", refund_id=refund_id)
                )
        return Refunds(refund_ids)

    @activity.defn
    async def confirm_booking(self, booking: BookingRef) -> Confirmation:
        """RESERVED -> CONFIRMED with a reference; confirming again returns the same reference."""
        async with autocommit(self._sessions) as connection:
            confirmed = await connection.scalar(
                update(BOOKINGS)
                .where(BOOKINGS.c.booking_id == booking.booking_id, BOOKINGS.c.status == "RESERVED")
                .values(status="CONFIRMED", reference=booking_reference(booking.booking_id))
                .returning(BOOKINGS.c.reference)
            )
            if confirmed is not None:
                return Confirmation(confirmed)
            # Nothing was RESERVED: an earlier attempt confirmed it, or it is not confirmable.
            row = (
                await connection.execute(
                    select(BOOKINGS.c.status, BOOKINGS.c.reference).where(BOOKINGS.c.booking_id == booking.booking_id)
                )
            ).first()
        if row is None or row.status != "CONFIRMED":
            raise ApplicationError(
                f"booking {booking.booking_id} cannot be confirmed: it is {row.status if row else 'missing'}",
                type="BookingNotReserved",
                non_retryable=True,
            )
        return Confirmation(row.reference)

    @activity.defn
    async def cancel_booking(self, cancel: CancelBookingInput) -> BookingRef:
        """Mark the booking CANCELLED with the failed step and reason (compensation and final record)."""
        request = cancel.request
        values = {"status": "CANCELLED", "failed_step": cancel.failed_step, "failure_reason": cancel.reason}
        async with autocommit(self._sessions) as connection:
            await connection.execute(
                insert(BOOKINGS)
                .values(**_booking_row(request), **values)
                .on_conflict_do_update(index_elements=[BOOKINGS.c.booking_id], set_={**values, "reference": None})
            )
        return BookingRef(request.request_id)

    @activity.defn
    async def notify_customer(self, message: BookingMessage) -> MessageSent:
        """Publish to the booking-notifications topic, once per booking and kind."""
        sent = await self._notifier.publish_once(
            f"booking:{message.booking_id}:{message.kind}",
            self._resources.booking_notifications_topic,
            message.subject,
            message.body,
        )
        return MessageSent(sent.message_id, sent.sent_now)

    @activity.defn
    async def send_to_dead_letter_queue(self, message: BookingMessage) -> MessageSent:
        """Put the whole story of a failed booking on the booking-dlq queue, once."""
        sent = await self._notifier.send_once(
            f"booking:{message.booking_id}:{message.kind}", self._resources.booking_dlq, message.subject, message.body
        )
        return MessageSent(sent.message_id, sent.sent_now)
