"""The booking saga's contracts (DESIGN §5.1): its request and result, the customer's
cancellation and the progress query, every activity's input and output, and the error types.

Plain data only, so the workflow can import it without any I/O library. Annotations are
evaluated (no ``from __future__ import annotations``): every step's input and result is
converted with its dataclass's type hints, and string hints would be evaluated again on
every conversion.
"""

from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef

PIPELINE = "booking"

# --- Error types ----------------------------------------------------------------------

FLIGHT_FULL = "FlightFull"
"""No seat left on a flight: the booking fails and is compensated."""
FLIGHT_NOT_FOUND = "FlightNotFound"
"""No such flight."""
SEATS_RELEASED = "SeatsReleased"
"""The seats were already given back (a compensation ran first): not retried."""
BOOKING_RESERVATION_ERROR = "BookingReservationError"
"""The booking row could not be written: retried (the article's BookingReservationException)."""
BOOKING_CANCELLED = "BookingCancelled"
"""The booking was already cancelled: not retried."""
BOOKING_NOT_RESERVED = "BookingNotReserved"
"""Confirming a booking with no reserved row."""
PAYMENT_DECLINED = "PaymentDeclined"
"""The provider declined the card: final."""
PAYMENT_REJECTED = "PaymentRejected"
"""The provider refused the request (4xx): final."""
BOOKING_FAILED = "BookingFailed"
"""Any other failure of a step."""


# --- Requests, results and the progress query -------------------------------------------


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


STEPS_BEFORE_CONFIRMATION = ("reserve_seats", "reserve_booking", "collect_payment")


@dataclass(frozen=True)
class CancelRequest:
    """A customer's cancellation."""

    reason: str = "cancelled by customer"
    """Why, in the customer's words."""


@dataclass(frozen=True)
class BookingProgress:
    """What the saga is doing now (the ``progress`` query)."""

    status: str
    """RUNNING, CONFIRMED, CANCELLED or FAILED."""
    current_step: str | None
    """The step running now, if any."""
    completed_steps: list[str] = field(default_factory=list)
    """Forward steps that finished, in order."""
    compensations_run: list[str] = field(default_factory=list)
    """Compensations that ran, in order (``name`` or ``name (failed)``)."""
    failed_step: str | None = None
    """The step whose failure started compensation."""
    failure_reason: str | None = None
    """Why it failed."""
    reference: str | None = None
    """The booking reference, once confirmed."""


@dataclass(frozen=True)
class BookingResult:
    """How the saga ended: the workflow's result, or the details of its failure."""

    booking_id: str
    status: str
    reference: str | None = None
    failed_step: str | None = None
    failure_reason: str | None = None
    compensations_run: list[str] = field(default_factory=list)
    completed_steps: list[str] = field(default_factory=list)
    """Forward steps that succeeded (absent from results recorded before it was added)."""


# --- Activities: registered name, input, output ----------------------------------------

RESERVE_SEATS = ActivityRef("reserve_seats", SeatsInput, SeatsOutcome)
"""The article's Reserve Flight: a seat on every flight of the booking, in one transaction."""
RELEASE_SEATS = ActivityRef("release_seats", SeatsInput, SeatsOutcome)
"""Compensation: give the seats back."""
RESERVE_BOOKING = ActivityRef("reserve_booking", BookingRequest, BookingRef)
"""The article's Reserve Booking: the booking row, RESERVED."""
CANCEL_BOOKING = ActivityRef("cancel_booking", CancelBookingInput, BookingRef)
"""Compensation: the booking CANCELLED with why."""
COLLECT_PAYMENT = ActivityRef("collect_payment", PaymentInput, PaymentCollected)
"""Charge the customer through the payment provider."""
REFUND_PAYMENT = ActivityRef("refund_payment", BookingRef, Refunds)
"""Compensation: refund every charge of the booking."""
CONFIRM_BOOKING = ActivityRef("confirm_booking", BookingRef, Confirmation)
"""The booking CONFIRMED, with its reference."""
NOTIFY_CUSTOMER = ActivityRef("notify_customer", BookingMessage, MessageSent)
"""Tell the customer (SNS, once per booking and kind)."""
SEND_TO_DEAD_LETTER_QUEUE = ActivityRef("send_to_dead_letter_queue", BookingMessage, MessageSent)
"""A failed booking's whole story to the dead-letter queue."""

ACTIVITIES = (
    RESERVE_SEATS,
    RELEASE_SEATS,
    RESERVE_BOOKING,
    CANCEL_BOOKING,
    COLLECT_PAYMENT,
    REFUND_PAYMENT,
    CONFIRM_BOOKING,
    NOTIFY_CUSTOMER,
    SEND_TO_DEAD_LETTER_QUEUE,
)
"""Every activity of the pipeline (the worker's catalog registers exactly these)."""
