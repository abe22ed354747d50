"""Every timeout and retry policy of every step, as named data (DESIGN §4.1).

The mapping from the articles' Amazon States Language is direct: IntervalSeconds ->
``initial_interval``, BackoffRate -> ``backoff_coefficient``, MaxAttempts ->
``maximum_attempts``, MaxDelaySeconds -> ``maximum_interval``, TimeoutSeconds ->
``start_to_close``; ErrorEquals becomes ``non_retryable_error_types`` (the inverse:
the errors that must *not* be retried). Call sites refer to these by name; no retry
literal appears twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy


@dataclass(frozen=True)
class StepPolicy:
    """Timeouts and retries of one step."""

    start_to_close: timedelta
    """Longest a single attempt may run (the ASL TimeoutSeconds)."""
    retry: RetryPolicy
    """How failed attempts are retried."""
    heartbeat: timedelta | None = None
    """Longest silence between heartbeats of a long-running attempt."""
    schedule_to_close: timedelta | None = None
    """Longest the step may take across all attempts."""

    def activity_options(self) -> dict[str, Any]:
        """Keyword arguments for ``workflow.execute_activity`` and friends."""
        options: dict[str, Any] = {"start_to_close_timeout": self.start_to_close, "retry_policy": self.retry}
        if self.heartbeat is not None:
            options["heartbeat_timeout"] = self.heartbeat
        if self.schedule_to_close is not None:
            options["schedule_to_close_timeout"] = self.schedule_to_close
        return options


AWS_ERRORS_NOT_RETRIED = [
    "AwsValidationError",
    "AwsAccessDenied",
    "AwsNotFound",
    "AwsConflict",
    "ConditionalCheckFailed",
    "TransactionCanceled",
]

AWS_CALL = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=5,
        non_retryable_error_types=AWS_ERRORS_NOT_RETRIED,
    ),
)
"""A generic AWS SDK call (`call_aws`)."""

DOCTOR_CHECK = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=RetryPolicy(maximum_attempts=1),
)
"""A diagnostic probe: one attempt, so the doctor reports the first error it meets."""


# --- B2B integration (DESIGN §5.4) ---------------------------------------------------

_B2B_STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
    non_retryable_error_types=AWS_ERRORS_NOT_RETRIED,
)

B2B_FORMAT = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=6,
        non_retryable_error_types=["MalformedTransaction"],
    ),
)
"""Turn the note into two user ids and record FORMATTED; a malformed note is not retried."""

B2B_ENRICH = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=8,
        non_retryable_error_types=["EnrichmentRejected"],
    ),
)
"""The enrichment API: 5xx, 429 and timeouts retried (about 2 minutes in all), 4xx not."""

B2B_STORE = StepPolicy(start_to_close=timedelta(seconds=15), retry=_B2B_STEP_RETRY)
"""Conditional DynamoDB put + STORED in Postgres."""

B2B_SETTLE = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=20,
    ),
)
"""Recording that a transaction or a batch ended unfinished: must not be lost, so retried ~15 minutes."""

B2B_REGISTER_BATCH = StepPolicy(start_to_close=timedelta(seconds=15), retry=_B2B_STEP_RETRY)
"""The batch row."""

B2B_SPLIT = StepPolicy(
    start_to_close=timedelta(hours=2),
    heartbeat=timedelta(seconds=60),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=6,
        non_retryable_error_types=AWS_ERRORS_NOT_RETRIED,
    ),
)
"""Stream the file, write chunks: long, heartbeating after every piece read."""

B2B_DISPATCH_CHUNK = StepPolicy(
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(seconds=20),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=20,
        non_retryable_error_types=AWS_ERRORS_NOT_RETRIED,
    ),
)
"""Run one chunk's transaction workflows and wait for them. It heartbeats every few seconds
while waiting, so a dead worker's dispatch is retried elsewhere within ~20 s; the
transactions it had started carry on meanwhile."""

B2B_REPORT = StepPolicy(start_to_close=timedelta(seconds=60), retry=_B2B_STEP_RETRY)
"""Count outcomes, write the report."""
