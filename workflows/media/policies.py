"""Timeouts, retries and failure handling of every media step (seeds: "AWS Step Functions
supports 200 AWS services", "Speed up translation jobs").

A non-retryable error is the job's outcome (a missing file, Transcribe FAILED, an unsupported
pair, an AWS refusal): it fails the job. Retries running out (throttling, 5xx, timeouts) parks
the step for an operator's retry / skip / abort.
"""

from __future__ import annotations

from datetime import timedelta

from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from activities.media.contracts import (
    INVALID_REQUEST,
    JOB_CONFLICT,
    MEDIA_NOT_FOUND,
    MEDIA_TOO_LARGE,
    TRANSCRIPT_MALFORMED,
    TRANSCRIPTION_FAILED,
    TRANSLATION_INCOMPLETE,
    UNSUPPORTED_LANGUAGE_PAIR,
)
from workflows.common.retry_shapes import exponential, poll_every
from workflows.common.step_policy import StepPolicy

COPY_MEDIA = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=5),
    retry=exponential(
        8,
        cap=timedelta(seconds=30),
        not_retried=[MEDIA_NOT_FOUND, MEDIA_TOO_LARGE, INVALID_REQUEST, *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""The article's GetSampleVideo (S3 CopyObject, up to Transcribe's 2 GB, so minutes per attempt)."""

START_TRANSCRIPTION = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=30),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=[JOB_CONFLICT, *AWS_ERRORS_NOT_RETRIED]),
)
"""StartTranscriptionJob; a conflict with our own earlier attempt counts as success."""


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
        retry=poll_every(
            poll_interval, not_retried=[TRANSCRIPTION_FAILED, TRANSCRIPT_MALFORMED, *AWS_ERRORS_NOT_RETRIED]
        ),
    )


TRANSLATE_TRANSCRIPT = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=15),
    heartbeat=timedelta(seconds=60),
    retry=exponential(
        10,
        first=timedelta(seconds=2),
        cap=timedelta(seconds=60),
        not_retried=[UNSUPPORTED_LANGUAGE_PAIR, INVALID_REQUEST, *AWS_ERRORS_NOT_RETRIED],
    ),
)
"""TranslateText for every segment and language; throttling is retried, resuming from the last checkpoint."""

POST_PROCESS_MEDIA = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=2),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=[TRANSLATION_INCOMPLETE, *AWS_ERRORS_NOT_RETRIED]),
)
"""Verify, flag, store in S3 and Postgres, notify SNS through the ledger."""

RECORD_MEDIA_FAILURE = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(20),
)
"""Failed job to Postgres and media-dlq: the last record of a failure, so it tries hardest, then parks."""
