"""What a step's policy is: timeouts, retries, and what step control does when they are not enough.

Each pipeline names its steps' policies in its own ``workflows/<pipeline>/policies.py``,
built from the retry shapes in :mod:`workflows.common.retry_shapes`. The mapping from the
articles' Amazon States Language is direct: IntervalSeconds -> ``initial_interval``,
BackoffRate -> ``backoff_coefficient``, MaxAttempts -> ``maximum_attempts``,
MaxDelaySeconds -> ``maximum_interval``, TimeoutSeconds -> ``start_to_close``; ErrorEquals
becomes ``non_retryable_error_types`` (the inverse: the errors that must *not* be retried).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

OnFailure = Literal["park", "fail"]
"""What a step does with a failure: ``park`` waits for an operator's retry / skip / abort,
``fail`` raises it to the workflow (which compensates, quarantines or fails the case)."""


@dataclass(frozen=True)
class StepPolicy:
    """Timeouts and retries of one step, and what step control does when they are not enough."""

    start_to_close: timedelta
    """Longest a single attempt may run (the ASL TimeoutSeconds)."""
    retry: RetryPolicy
    """How failed attempts are retried."""
    heartbeat: timedelta | None = None
    """Longest silence between heartbeats of a long-running attempt."""
    schedule_to_close: timedelta | None = None
    """Longest the step may take across all attempts."""
    local: bool = False
    """Run as a local activity: in the worker that runs the workflow task, without a task-queue
    round trip. For short, idempotent steps only (no heartbeats; retried in-process, and
    re-run if the worker dies mid-step)."""
    wait_for_cancellation: bool = False
    """On cancellation, wait until the attempt has really stopped (a teardown must not race it)."""
    on_exhausted: OnFailure = "park"
    """When the retries run out (throttling, timeouts, 5xx, a partner down): infrastructure
    an operator can fix, so by default the step parks."""
    on_non_retryable: OnFailure = "park"
    """When the step raises a non-retryable error. ``fail`` where such an error is the case's
    business outcome (Transcribe FAILED, a quarantined record); ``park`` where an operator
    must look at it (a reconciliation's invalid report)."""
    fails_on: tuple[str, ...] = ()
    """Error types that are the case's business outcome whatever ``on_non_retryable`` says: raised
    to the workflow (a refused document), while other non-retryable errors (access denied, a
    request the service refuses) park for an operator."""

    def activity_options(self) -> dict[str, Any]:
        """Keyword arguments for ``workflow.execute_activity`` / ``execute_local_activity``."""
        options: dict[str, Any] = {"start_to_close_timeout": self.start_to_close, "retry_policy": self.retry}
        if self.heartbeat is not None and not self.local:
            options["heartbeat_timeout"] = self.heartbeat
        if self.schedule_to_close is not None:
            options["schedule_to_close_timeout"] = self.schedule_to_close
        if self.wait_for_cancellation:
            options["cancellation_type"] = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        return options
