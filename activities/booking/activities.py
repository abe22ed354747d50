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
* notifications and the dead-letter message go through the ledger (``activities.common.notify``).

Annotations are evaluated (no ``from __future__ import annotations``): every step's input
and result is converted with its dataclass's type hints, and string hints would be
evaluated again on every conversion.
"""

import base64
import hashlib
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.booking.contracts import (
    BOOKING_CANCELLED,
    BOOKING_NOT_RESERVED,
    BOOKING_RESERVATION_ERROR,
    CANCEL_BOOKING,
    COLLECT_PAYMENT,
    CONFIRM_BOOKING,
    FLIGHT_FULL,
    FLIGHT_NOT_FOUND,
    NOTIFY_CUSTOMER,
    REFUND_PAYMENT,
    RELEASE_SEATS,
    RESERVE_BOOKING,
    RESERVE_SEATS,
    SEATS_RELEASED,
    SEND_TO_DEAD_LETTER_QUEUE,
    BookingMessage,
    BookingRef,
    BookingRequest,
    CancelBookingInput,
    Confirmation,
    MessageSent,
    PaymentCollected,
    PaymentInput,
    Refunds,
    SeatsInput,
    SeatsOutcome,
)
from activities.booking.payments import PaymentProvider
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, autocommit
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.models.booking import Booking, Payment

# Core tables rather than ORM entities: each step is one or two plain statements, and the
# ORM's unit of work would only add per-call overhead.
BOOKINGS = cast(Table, Booking.__table__)
PAYMENTS = cast(Table, Payment.__table__)


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

    @activity.defn(name=RESERVE_SEATS.name)
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
                f"booking {seats.booking_id}: seats were already released", type=SEATS_RELEASED, non_retryable=True
            )
        for index, flight_id in enumerate(seats.flight_ids):
            if index * 2 + 1 < len(reasons) and reasons[index * 2 + 1] == "ConditionalCheckFailed":
                flight = await self._aws.call(
                    "dynamodb", "get_item", TableName=self._resources.flights_table, Key={"id": {"S": flight_id}}
                )
                if "Item" not in flight:
                    raise ApplicationError(f"no such flight: {flight_id}", type=FLIGHT_NOT_FOUND, non_retryable=True)
                raise ApplicationError(f"flight {flight_id} is full", type=FLIGHT_FULL, non_retryable=True)
        raise error

    @activity.defn(name=RELEASE_SEATS.name)
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

    @activity.defn(name=RESERVE_BOOKING.name)
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
                type=BOOKING_RESERVATION_ERROR,
            ) from error
        if status == "CANCELLED":
            raise ApplicationError(
                f"booking {request.request_id} was already cancelled", type=BOOKING_CANCELLED, non_retryable=True
            )
        return BookingRef(request.request_id)

    @activity.defn(name=COLLECT_PAYMENT.name)
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

    @activity.defn(name=REFUND_PAYMENT.name)
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

    @activity.defn(name=CONFIRM_BOOKING.name)
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
                type=BOOKING_NOT_RESERVED,
                non_retryable=True,
            )
        return Confirmation(row.reference)

    @activity.defn(name=CANCEL_BOOKING.name)
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

    @activity.defn(name=NOTIFY_CUSTOMER.name)
    async def notify_customer(self, message: BookingMessage) -> MessageSent:
        """Publish to the booking-notifications topic, once per booking and kind."""
        sent = await self._notifier.publish_once(
            f"booking:{message.booking_id}:{message.kind}",
            self._resources.booking_notifications_topic,
            message.subject,
            message.body,
        )
        return MessageSent(sent.message_id, sent.sent_now)

    @activity.defn(name=SEND_TO_DEAD_LETTER_QUEUE.name)
    async def send_to_dead_letter_queue(self, message: BookingMessage) -> MessageSent:
        """Put the whole story of a failed booking on the booking-dlq queue, once."""
        sent = await self._notifier.send_once(
            f"booking:{message.booking_id}:{message.kind}", self._resources.booking_dlq, message.subject, message.body
        )
        return MessageSent(sent.message_id, sent.sent_now)
