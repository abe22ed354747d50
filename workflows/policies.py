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
from temporalio.workflow import ActivityCancellationType


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
    wait_for_cancellation: bool = False
    """On cancellation, wait until the attempt has really stopped (a teardown must not race it)."""

    def activity_options(self) -> dict[str, Any]:
        """Keyword arguments for ``workflow.execute_activity`` and friends."""
        options: dict[str, Any] = {"start_to_close_timeout": self.start_to_close, "retry_policy": self.retry}
        if self.heartbeat is not None:
            options["heartbeat_timeout"] = self.heartbeat
        if self.schedule_to_close is not None:
            options["schedule_to_close_timeout"] = self.schedule_to_close
        if self.wait_for_cancellation:
            options["cancellation_type"] = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
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

STEP_CONTROL_AUDIT = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
    ),
)
"""Writing a decision's audit row: retried until Postgres answers (a decision is never unaudited)."""

STEP_CONTROL_NOTIFY = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=10,
        non_retryable_error_types=AWS_ERRORS_NOT_RETRIED,
    ),
)
"""Telling operators a step waits: retried, but a lost notice never blocks the wait itself."""

RECON_NOT_RETRIED = [
    *AWS_ERRORS_NOT_RETRIED,
    "InvalidReconciliation",
    "OperationFailed",
    "SnapshotInvalid",
    "ReportInvalid",
]
"""Reconciliation errors an operator must look at: retrying them unchanged cannot help."""

RECON_BOOKKEEPING = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=10,
        non_retryable_error_types=RECON_NOT_RETRIED,
    ),
)
"""Planning, run records and summaries: small reads and writes of S3 and Postgres."""

RECON_POLL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=1.0,
    maximum_attempts=720,
    non_retryable_error_types=RECON_NOT_RETRIED,
)
"""Retry-as-poll for environment operations: every 5 s for up to an hour (``OperationPending``)."""

RECON_ENVIRONMENT = StepPolicy(start_to_close=timedelta(minutes=10), retry=RECON_POLL_RETRY, wait_for_cancellation=True)
"""Provision and tear down an environment (local: seconds; SSM: one poll per attempt)."""

RECON_RESTORE = StepPolicy(
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(seconds=60),
    retry=RECON_POLL_RETRY,
    wait_for_cancellation=True,
)
"""Restore a snapshot: long (no 15-minute ceiling), heartbeats each committed batch."""

RECON_REPORT = StepPolicy(
    start_to_close=timedelta(hours=1),
    heartbeat=timedelta(minutes=5),
    retry=RECON_POLL_RETRY,
    wait_for_cancellation=True,
)
"""Run one report and store its CSV."""

RECON_COMPARE = StepPolicy(
    start_to_close=timedelta(minutes=30),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=5,
        non_retryable_error_types=RECON_NOT_RETRIED,
    ),
)
"""Compare one report pair (streams both CSVs from S3)."""
