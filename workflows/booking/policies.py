"""Timeouts, retries and failure handling of every booking step (seed: "Building in resiliency,
part 1", ProcessBooking).

Forward steps fail the saga when their retries run out (that is what the compensations are
for); compensations and the dead-letter write park for an operator instead of being lost.
"""

from __future__ import annotations

from datetime import timedelta

from activities.booking.contracts import (
    BOOKING_CANCELLED,
    FLIGHT_FULL,
    FLIGHT_NOT_FOUND,
    PAYMENT_DECLINED,
    PAYMENT_REJECTED,
    SEATS_RELEASED,
)
from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from workflows.common.retry_shapes import exponential
from workflows.common.step_policy import StepPolicy

_SHORT_RETRY = exponential(5, cap=timedelta(seconds=10), not_retried=AWS_ERRORS_NOT_RETRIED)

RESERVE_SEATS = StepPolicy(
    local=True,
    on_exhausted="fail",
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=10),
    retry=exponential(
        5,
        cap=timedelta(seconds=10),
        not_retried=[FLIGHT_FULL, FLIGHT_NOT_FOUND, SEATS_RELEASED, *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""The article's Reserve Flight (a conditional DynamoDB update), made retry-safe."""

RESERVE_BOOKING = StepPolicy(
    local=True,
    on_exhausted="fail",
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=5),
    retry=exponential(2, not_retried=[BOOKING_CANCELLED]),
)
"""The article's Reserve Booking: TimeoutSeconds 5; Retry BookingReservationException,
IntervalSeconds 1, BackoffRate 2, MaxAttempts 2. Every other error the activity raises is
typed non-retryable, so only BookingReservationError (and a timeout) is retried. One short
Postgres insert, so a local activity: it runs in the workflow task that reserved the seat."""

COLLECT_PAYMENT = StepPolicy(
    on_exhausted="fail",
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=15),
    retry=exponential(6, cap=timedelta(seconds=10), not_retried=[PAYMENT_DECLINED, PAYMENT_REJECTED]),
)
"""Collect Payment: provider 5xx/timeouts retried under the same Idempotency-Key; declines are final."""

CONFIRM_BOOKING = StepPolicy(
    start_to_close=timedelta(seconds=5), retry=_SHORT_RETRY, local=True, on_exhausted="fail", on_non_retryable="fail"
)
"""Confirm Booking: a conditional Postgres update."""

NOTIFY_CUSTOMER = StepPolicy(
    start_to_close=timedelta(seconds=10), retry=_SHORT_RETRY, local=True, on_exhausted="fail", on_non_retryable="fail"
)
"""Notify Booking Confirmed / Failed (SNS through the ledger). A notice that cannot be sent
does not undo the booking: the confirmation's goes to the dead-letter queue, the failure's is logged."""

BOOKING_DEAD_LETTER = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=exponential(20),
)
"""Booking DLQ: the last record of a failure, so it tries hardest, then parks."""

COMPENSATION = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=exponential(10, cap=timedelta(seconds=30)),
)
"""Refund payment, cancel booking, release seat: idempotent, so retried generously, then parked."""
