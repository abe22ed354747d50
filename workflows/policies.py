"""Every timeout and retry policy of every step, as named data (DESIGN §4.1).

The mapping from the articles' Amazon States Language is direct: IntervalSeconds ->
``initial_interval``, BackoffRate -> ``backoff_coefficient``, MaxAttempts ->
``maximum_attempts``, MaxDelaySeconds -> ``maximum_interval``, TimeoutSeconds ->
``start_to_close``; ErrorEquals becomes ``non_retryable_error_types`` (the inverse:
the errors that must *not* be retried). Call sites refer to these by name; each retry is
built from a shape in ``workflows.retry_shapes`` (``exponential``, ``poll_every``, ``once``)
with its own numbers, so no block of retry keywords is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from workflows.retry_shapes import exponential, once, poll_every

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
    retry=exponential(5, cap=timedelta(seconds=30), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""A generic AWS SDK call (`call_aws`)."""

DOCTOR_CHECK = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=once(),
)
"""A diagnostic probe: one attempt, so the doctor reports the first error it meets."""

STEP_CONTROL_AUDIT = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(0, cap=timedelta(minutes=1)),
)
"""Writing a decision's audit row: retried until Postgres answers (a decision is never unaudited)."""

STEP_CONTROL_NOTIFY = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(10, cap=timedelta(minutes=1), not_retried=AWS_ERRORS_NOT_RETRIED),
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
    retry=exponential(10, cap=timedelta(seconds=30), not_retried=RECON_NOT_RETRIED),
)
"""Planning, run records and summaries: small reads and writes of S3 and Postgres."""

RECON_POLL_RETRY = poll_every(timedelta(seconds=5), attempts=720, not_retried=RECON_NOT_RETRIED)
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
    retry=exponential(5, first=timedelta(seconds=2), cap=timedelta(minutes=1), not_retried=RECON_NOT_RETRIED),
)
"""Compare one report pair (streams both CSVs from S3)."""


# --- Booking saga (seed: "Building in resiliency, part 1", ProcessBooking) -------------

_SHORT_RETRY = exponential(5, cap=timedelta(seconds=10), not_retried=AWS_ERRORS_NOT_RETRIED)

RESERVE_SEATS = StepPolicy(
    local=True,
    start_to_close=timedelta(seconds=10),
    retry=exponential(
        5,
        cap=timedelta(seconds=10),
        not_retried=["FlightFull", "FlightNotFound", "SeatsReleased", *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""The article's Reserve Flight (a conditional DynamoDB update), made retry-safe."""

RESERVE_BOOKING = StepPolicy(
    local=True,
    start_to_close=timedelta(seconds=5),
    retry=exponential(2, not_retried=["BookingCancelled"]),
)
"""The article's Reserve Booking: TimeoutSeconds 5; Retry BookingReservationException,
IntervalSeconds 1, BackoffRate 2, MaxAttempts 2. Every other error the activity raises is
typed non-retryable, so only BookingReservationError (and a timeout) is retried. One short
Postgres insert, so a local activity: it runs in the workflow task that reserved the seat."""

COLLECT_PAYMENT = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=exponential(6, cap=timedelta(seconds=10), not_retried=["PaymentDeclined", "PaymentRejected"]),
)
"""Collect Payment: provider 5xx/timeouts retried under the same Idempotency-Key; declines are final."""

CONFIRM_BOOKING = StepPolicy(start_to_close=timedelta(seconds=5), retry=_SHORT_RETRY, local=True)
"""Confirm Booking: a conditional Postgres update."""

NOTIFY_CUSTOMER = StepPolicy(start_to_close=timedelta(seconds=10), retry=_SHORT_RETRY, local=True)
"""Notify Booking Confirmed / Failed (SNS through the ledger)."""

BOOKING_DEAD_LETTER = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=exponential(20),
)
"""Booking DLQ: the last record of a failure, so it tries hardest."""

COMPENSATION = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=exponential(10, cap=timedelta(seconds=30)),
)
"""Refund payment, cancel booking, release seat: idempotent, so retried generously."""

# --- Media pipeline (seeds: "AWS Step Functions supports 200 AWS services", "Speed up translation jobs") ---
# A non-retryable error is the job's outcome (a missing file, Transcribe FAILED, an unsupported
# pair, an AWS refusal): it fails the job as it always did. Retries running out parks the step.

COPY_MEDIA = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=5),
    retry=exponential(
        8,
        cap=timedelta(seconds=30),
        not_retried=["MediaNotFound", "MediaTooLarge", "InvalidMediaRequest", *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""The article's GetSampleVideo (S3 CopyObject, up to Transcribe's 2 GB, so minutes per attempt)."""

START_TRANSCRIPTION = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=30),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=["TranscriptionJobConflict", *AWS_ERRORS_NOT_RETRIED]),
)
"""StartTranscriptionJob; a conflict with our own earlier attempt counts as success."""

TRANSCRIPTION_POLL_NOT_RETRIED = ["TranscriptionFailed", "TranscriptMalformed", *AWS_ERRORS_NOT_RETRIED]


def transcription_poll(poll_interval: timedelta, max_wait: timedelta) -> StepPolicy:
    """The article's Wait (20 s) / GetTranscriptionJob / Choice loop as one activity's retry policy.

    Every "not ready" attempt is retried after exactly ``poll_interval`` (backoff 1.0, no
    attempt limit) until ``max_wait`` has passed since the first poll; FAILED and
    malformed transcripts end the loop at once. Retries of one activity add no history
    events, so a ten-hour job costs the same history as a one-minute one.
    """
    return StepPolicy(
        # Running out of time is the job's outcome (TranscriptionTimedOut), not something to park.
        on_exhausted="fail",
        on_non_retryable="fail",
        start_to_close=timedelta(seconds=60),
        schedule_to_close=max_wait,
        retry=poll_every(poll_interval, not_retried=TRANSCRIPTION_POLL_NOT_RETRIED),
    )


TRANSLATE_TRANSCRIPT = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=15),
    heartbeat=timedelta(seconds=60),
    retry=exponential(
        10,
        first=timedelta(seconds=2),
        cap=timedelta(seconds=60),
        not_retried=["UnsupportedLanguagePair", "InvalidMediaRequest", *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""TranslateText for every segment and language; throttling is retried, resuming from the last checkpoint."""

POST_PROCESS_MEDIA = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=2),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=["TranslationIncomplete", *AWS_ERRORS_NOT_RETRIED]),
)
"""Verify, flag, store in S3 and Postgres, notify SNS through the ledger."""

RECORD_MEDIA_FAILURE = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(20),
)
"""Failed job to Postgres and media-dlq: the last record of a failure, so it tries hardest."""

# --- B2B integration (DESIGN §5.4) ---------------------------------------------------
# A non-retryable error is the content's fault (a malformed note, an unknown user: quarantined)
# or a typed refusal: it ends the transaction or batch as it always did. Retries running out
# (the enrichment API down, throttling) parks the step for an operator.

_B2B_STEP_RETRY = exponential(6, cap=timedelta(seconds=30), not_retried=AWS_ERRORS_NOT_RETRIED)

B2B_FORMAT = StepPolicy(
    on_non_retryable="fail",
    local=True,
    start_to_close=timedelta(seconds=10),
    retry=exponential(6, cap=timedelta(seconds=30), not_retried=["MalformedTransaction"]),
)
"""Turn the note into two user ids and record FORMATTED; a malformed note is not retried."""

B2B_ENRICH = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=10),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=["EnrichmentRejected"]),
)
"""The enrichment API: 5xx, 429 and timeouts retried (about 2 minutes in all), 4xx not."""

B2B_STORE = StepPolicy(start_to_close=timedelta(seconds=15), retry=_B2B_STEP_RETRY, local=True, on_non_retryable="fail")
"""Conditional DynamoDB put + STORED in Postgres: short and idempotent, so a local activity
in the workflow task that follows enrichment."""

B2B_SETTLE = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=exponential(20, cap=timedelta(seconds=60)),
)
"""Recording that a transaction or a batch ended unfinished: must not be lost, so retried ~15 minutes."""

B2B_REGISTER_BATCH = StepPolicy(start_to_close=timedelta(seconds=15), retry=_B2B_STEP_RETRY, on_non_retryable="fail")
"""The batch row."""

B2B_SPLIT = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(hours=2),
    heartbeat=timedelta(seconds=60),
    retry=exponential(6, first=timedelta(seconds=5), cap=timedelta(minutes=5), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""Stream the file, write chunks: long, heartbeating after every piece read."""

B2B_DISPATCH_CHUNK = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(seconds=20),
    retry=exponential(20, first=timedelta(seconds=5), cap=timedelta(minutes=5), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""Run one chunk's transaction workflows and wait for them. It heartbeats every few seconds
while waiting, so a dead worker's dispatch is retried elsewhere within ~20 s; the
transactions it had started carry on meanwhile."""

B2B_REPORT = StepPolicy(start_to_close=timedelta(seconds=60), retry=_B2B_STEP_RETRY, on_non_retryable="fail")
"""Count outcomes, write the report."""
