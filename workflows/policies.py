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


# --- Media pipeline (seeds: "AWS Step Functions supports 200 AWS services", "Speed up translation jobs") ---

COPY_MEDIA = StepPolicy(
    start_to_close=timedelta(minutes=5),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=8,
        non_retryable_error_types=["MediaNotFound", "MediaTooLarge", "InvalidMediaRequest", *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""The article's GetSampleVideo (S3 CopyObject, up to Transcribe's 2 GB, so minutes per attempt)."""

START_TRANSCRIPTION = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=8,
        non_retryable_error_types=["TranscriptionJobConflict", *AWS_ERRORS_NOT_RETRIED],
    ),
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
        start_to_close=timedelta(seconds=60),
        schedule_to_close=max_wait,
        retry=RetryPolicy(
            initial_interval=poll_interval,
            backoff_coefficient=1.0,
            maximum_interval=poll_interval,
            maximum_attempts=0,
            non_retryable_error_types=TRANSCRIPTION_POLL_NOT_RETRIED,
        ),
    )


TRANSLATE_TRANSCRIPT = StepPolicy(
    start_to_close=timedelta(minutes=15),
    heartbeat=timedelta(seconds=60),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=10,
        non_retryable_error_types=["UnsupportedLanguagePair", "InvalidMediaRequest", *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""TranslateText for every segment and language; throttling is retried, resuming from the last checkpoint."""

POST_PROCESS_MEDIA = StepPolicy(
    start_to_close=timedelta(minutes=2),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=8,
        non_retryable_error_types=["TranslationIncomplete", *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""Verify, flag, store in S3 and Postgres, notify SNS through the ledger."""

RECORD_MEDIA_FAILURE = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=20),
)
"""Failed job to Postgres and media-dlq: the last record of a failure, so it tries hardest."""
