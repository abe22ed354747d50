"""Name-matched stand-ins for the booking activities, for workflow-logic tests on the time-skipping server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.booking.contracts import (
    ACTIVITIES,
    CANCEL_BOOKING,
    COLLECT_PAYMENT,
    CONFIRM_BOOKING,
    NOTIFY_CUSTOMER,
    REFUND_PAYMENT,
    RELEASE_SEATS,
    RESERVE_BOOKING,
    RESERVE_SEATS,
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
from tests.support.mocks import covering, mock_activity


@dataclass
class MockBookingActivities:
    """Records every call; ``failures`` maps an activity name to the error it raises."""

    failures: dict[str, Exception] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    started_at: dict[str, list[float]] = field(default_factory=dict)
    """Monotonic start time of every attempt, by activity."""

    async def _enter(self, name: str) -> None:
        self.calls.append(name)
        self.started_at.setdefault(name, []).append(time.monotonic())
        if name in self.delays:
            await asyncio.sleep(self.delays[name])
        if name in self.failures:
            raise self.failures[name]

    def activities(self) -> list[Callable[..., Any]]:
        """The activity functions to register."""

        @mock_activity(RESERVE_SEATS)
        async def reserve_seats(seats: SeatsInput) -> SeatsOutcome:
            await self._enter("reserve_seats")
            return SeatsOutcome(seats.flight_ids)

        @mock_activity(RELEASE_SEATS)
        async def release_seats(seats: SeatsInput) -> SeatsOutcome:
            await self._enter("release_seats")
            return SeatsOutcome(seats.flight_ids)

        @mock_activity(RESERVE_BOOKING)
        async def reserve_booking(request: BookingRequest) -> BookingRef:
            await self._enter("reserve_booking")
            return BookingRef(request.request_id)

        @mock_activity(COLLECT_PAYMENT)
        async def collect_payment(payment: PaymentInput) -> PaymentCollected:
            await self._enter("collect_payment")
            return PaymentCollected("ch_mock")

        @mock_activity(REFUND_PAYMENT)
        async def refund_payment(booking: BookingRef) -> Refunds:
            await self._enter("refund_payment")
            return Refunds(["re_mock"])

        @mock_activity(CONFIRM_BOOKING)
        async def confirm_booking(booking: BookingRef) -> Confirmation:
            await self._enter("confirm_booking")
            return Confirmation("SW-MOCK")

        @mock_activity(CANCEL_BOOKING)
        async def cancel_booking(cancel: CancelBookingInput) -> BookingRef:
            await self._enter("cancel_booking")
            return BookingRef(cancel.request.request_id)

        @mock_activity(NOTIFY_CUSTOMER)
        async def notify_customer(message: BookingMessage) -> MessageSent:
            await self._enter("notify_customer")
            return MessageSent("m-1", True)

        @mock_activity(SEND_TO_DEAD_LETTER_QUEUE)
        async def send_to_dead_letter_queue(message: BookingMessage) -> MessageSent:
            await self._enter("send_to_dead_letter_queue")
            return MessageSent("m-2", True)

        return covering(
            ACTIVITIES,
            [
                reserve_seats,
                release_seats,
                reserve_booking,
                collect_payment,
                refund_payment,
                confirm_booking,
                cancel_booking,
                notify_customer,
                send_to_dead_letter_queue,
            ],
        )


def reservation_error() -> ApplicationError:
    """The article's BookingReservationException."""
    return ApplicationError("database unavailable", type="BookingReservationError")
