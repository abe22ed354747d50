"""Compensations for saga-style workflows: registered before each forward step, run in reverse.

A compensation is registered *before* its forward call because the call can succeed at
the remote end and still fail here (a timeout after the provider charged); every
compensation is therefore written to tolerate "nothing to undo".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

Compensation = Callable[[], Awaitable[object]]

STEP_ERRORS = (ActivityError, ApplicationError, TimeoutError)
"""What a failed step raises: regular activities wrap the cause in ActivityError; local
activities may raise the ApplicationError or TimeoutError itself."""


@dataclass(frozen=True)
class CompensationOutcome:
    """What happened to one compensation."""

    step: str
    """Name of the compensation (``refund_payment``...)."""
    ok: bool
    """False if it exhausted its retries."""
    error: str = ""
    """The last error, when it failed."""


@dataclass
class Saga:
    """A stack of compensations."""

    _stack: list[tuple[str, Compensation]] = field(default_factory=list)
    outcomes: list[CompensationOutcome] = field(default_factory=list)

    def register(self, step: str, compensation: Compensation) -> None:
        """Remember how to undo ``step``; call before running the step."""
        self._stack.append((step, compensation))

    async def compensate(self) -> None:
        """Run every compensation, newest first, each once; one that fails is recorded as
        failed and the remaining ones still run."""
        while self._stack:
            name, compensation = self._stack.pop()
            try:
                await compensation()
            except STEP_ERRORS as error:
                cause = error.cause if isinstance(error, ActivityError) and error.cause else error
                self.outcomes.append(CompensationOutcome(name, ok=False, error=str(cause)))
                workflow.logger.error("compensation %s failed: %s", name, cause)
                continue
            self.outcomes.append(CompensationOutcome(name, ok=True))
