"""The saga inside step control: compensations registered before each forward step, run in reverse.

A compensation is registered *before* its forward call because the call can succeed at
the remote end and still fail here (a timeout after the provider charged); every
compensation is therefore written to tolerate "nothing to undo". Workflows do not use this
module directly: they pass ``undo=`` to ``StepControl.run`` and call ``StepControl.compensate``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.common.failures import STEP_ERRORS, describe_failure

Compensation = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class CompensationOutcome:
    """What happened to one compensation."""

    step: str
    """Name of the compensation (``refund_payment``...)."""
    ok: bool
    """False if it failed (retries exhausted and not parked, or aborted by an operator)."""
    error: str = ""
    """The last error, when it failed."""


@dataclass
class Saga:
    """A stack of compensations and what became of those that ran."""

    _stack: list[tuple[str, Compensation]] = field(default_factory=list)
    outcomes: list[CompensationOutcome] = field(default_factory=list)

    def register(self, step: str, compensation: Compensation) -> None:
        """Remember how to undo ``step``; call before running the step."""
        self._stack.append((step, compensation))

    async def compensate(self) -> list[CompensationOutcome]:
        """Run every compensation, newest first, each once; one that fails is recorded as
        failed and the remaining ones still run. Returns every outcome so far."""
        while self._stack:
            name, compensation = self._stack.pop()
            try:
                await compensation()
            except STEP_ERRORS as error:
                failure = describe_failure(error)
                self.outcomes.append(CompensationOutcome(name, ok=False, error=failure.message))
                workflow.logger.error("compensation %s failed: %s", name, failure.reason)
                continue
            self.outcomes.append(CompensationOutcome(name, ok=True))
        return list(self.outcomes)
