"""The booking workflow's contract with its callers: its result, its progress query, the
customer's cancellation, and how a failure is described.

Kept apart from ``workflows.booking`` and imported there as a passed-through module: the
sandbox re-imports a workflow's own module for every run, and these definitions need not
be rebuilt each time (they are plain data and pure functions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

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


class CustomerCancelled(Exception):
    """Raised inside the workflow when the customer's cancellation interrupts a step."""


def describe(failure: BaseException) -> str:
    """A one-line reason: the root cause's message and type."""
    if isinstance(failure, CustomerCancelled):
        return f"cancelled by customer: {failure}"
    cause: BaseException = failure
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'Error'}: {cause.message}"
    if isinstance(cause, TimeoutError):
        return f"timed out ({cause.type.name if cause.type else 'timeout'})"
    return f"{type(cause).__name__}: {cause}"


def error_type(failure: BaseException) -> str:
    """The domain error type to fail the workflow with (FlightFull, PaymentDeclined...)."""
    cause: BaseException | None = failure
    while isinstance(cause, ActivityError):
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    if isinstance(cause, TimeoutError):
        return "StepTimedOut"
    return "BookingFailed"
