"""What a failed step was, in one place: every workflow describes failures with this module.

A step's failure reaches the workflow wrapped (``ActivityError`` or ``ChildWorkflowError``
around the activity's ``ApplicationError`` or a ``TimeoutError``), or bare (a local
activity's ``ApplicationError``). The innermost cause says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    RetryState,
    TimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import STEP_ABORTED

STEP_TIMED_OUT = "StepTimedOut"
"""Error type of a step whose last attempt (or whole schedule) timed out."""
STEP_ERRORS = (ActivityError, ApplicationError, ChildWorkflowError, TimeoutError)
"""What a failed step raises: activities and children wrap the cause; local activities may
raise the ApplicationError or TimeoutError itself."""


@dataclass(frozen=True)
class StepFailure:
    """A failed step, described."""

    error_type: str
    """The ApplicationError's type (``PaymentDeclined``...), ``StepTimedOut``, or the exception's class."""
    message: str
    """The root cause's message."""
    timed_out: bool = False
    """The root cause was a timeout (start-to-close, schedule-to-close, heartbeat)."""
    aborted: bool = False
    """An operator aborted the step."""
    typed: bool = False
    """``error_type`` names the failure (an ApplicationError's type, or ``StepTimedOut``) rather
    than an exception class; a workflow fails with it, or with its own default type otherwise."""

    @property
    def reason(self) -> str:
        """One line: ``Type: message`` (``timed out (KIND)`` for a timeout)."""
        return self.message if self.timed_out else f"{self.error_type}: {self.message}"

    def error_type_or(self, default: str) -> str:
        """The failure's own type when it has one, else ``default``."""
        return self.error_type if self.typed else default


def describe_failure(error: BaseException) -> StepFailure:
    """What a step's failure was: the error inside the activity or child wrapper, typed.

    Only the wrappers are looked through: an activity's ``ApplicationError`` may itself carry
    the exception it was raised from (``FlightFull`` from a cancelled DynamoDB transaction),
    and the step's failure is the one the activity chose to raise.
    """
    cause: BaseException = error
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return StepFailure(
            cause.type or "ApplicationError", cause.message, aborted=cause.type == STEP_ABORTED, typed=bool(cause.type)
        )
    if isinstance(cause, TimeoutError):
        kind = cause.type.name if cause.type else "TIMEOUT"
        return StepFailure(STEP_TIMED_OUT, f"timed out ({kind})", timed_out=True, typed=True)
    if isinstance(cause, FailureError):
        return StepFailure(type(cause).__name__, cause.message)
    return StepFailure(type(cause).__name__, str(cause))


def is_non_retryable(error: BaseException) -> bool:
    """True when a step's failure was not retried because it cannot succeed by retrying."""
    if isinstance(error, ActivityError | ChildWorkflowError) and error.retry_state == RetryState.NON_RETRYABLE_FAILURE:
        return True
    cause: BaseException = error
    while isinstance(cause, FailureError) and cause.cause is not None:
        cause = cause.cause
    return isinstance(cause, ApplicationError) and cause.non_retryable


def retry_timed_out(error: BaseException) -> bool:
    """True when the step's retries stopped because its schedule-to-close time ran out."""
    return isinstance(error, ActivityError) and error.retry_state == RetryState.TIMEOUT


def find_abort(error: BaseException) -> ApplicationError | None:
    """The ``StepAborted`` error somewhere in a failure's cause chain (an abort in a child)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == STEP_ABORTED:
            return cause
        cause = cause.cause if isinstance(cause, FailureError) else None
    return None
