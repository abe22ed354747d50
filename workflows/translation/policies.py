"""Timeouts, retries and failure handling of every translation step (seed: "Speed up
translation jobs with a fully automated translation system assistant").

A non-retryable error that is the project's outcome (an invalid project, Translate ending a
job FAILED, Translate refusing a glossary) fails the pair or the project with the reason;
retries running out (throttling, 5xx, timeouts) park the step for an operator's retry /
skip / abort. Waiting for a free job slot and for a job to finish are the retry-as-poll
pattern: one activity retried at a fixed interval, so the history stays flat.
"""

from __future__ import annotations

from datetime import timedelta

from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from activities.translation.contracts import GLOSSARY_REFUSED, INVALID_PROJECT, JOB_FAILED, SEGMENTS_MISSING
from workflows.common.retry_shapes import exponential, poll_every
from workflows.common.step_policy import StepPolicy

PREPROCESS = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=15),
    heartbeat=timedelta(minutes=1),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=[INVALID_PROJECT, *AWS_ERRORS_NOT_RETRIED]),
)
"""List and read every file (up to the project's file limit), quarantine the refused."""

PREPARE_JOB = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=10),
    heartbeat=timedelta(minutes=1),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=list(AWS_ERRORS_NOT_RETRIED)),
)
"""Copy the job's files to its input prefix (deterministic keys: a retry rewrites them)."""

GLOSSARY = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=2),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=[GLOSSARY_REFUSED, *AWS_ERRORS_NOT_RETRIED]),
)
"""ImportTerminology / CreateParallelData: a refusal is the pair's outcome."""

START_JOB = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=10),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=list(AWS_ERRORS_NOT_RETRIED)),
)
"""StartTextTranslationJob; idempotent by its client token, so retries start one job."""


def slot_poll(interval: timedelta) -> StepPolicy:
    """Wait for one of Translate's concurrent-job slots: try again every ``interval``, without limit."""
    return StepPolicy(start_to_close=timedelta(seconds=30), retry=poll_every(interval))


def parallel_data_poll(interval: timedelta) -> StepPolicy:
    """GetParallelData every ``interval`` until the parallel data is ACTIVE; FAILED is the pair's outcome."""
    return StepPolicy(
        on_non_retryable="fail",
        start_to_close=timedelta(seconds=30),
        schedule_to_close=timedelta(hours=6),
        retry=poll_every(interval, not_retried=[GLOSSARY_REFUSED, *AWS_ERRORS_NOT_RETRIED]),
    )


def job_poll(interval: timedelta, max_wait: timedelta) -> StepPolicy:
    """DescribeTextTranslationJob every ``interval`` until the job ends; past ``max_wait`` the step parks."""
    return StepPolicy(
        on_non_retryable="fail",
        start_to_close=timedelta(seconds=30),
        schedule_to_close=max_wait,
        retry=poll_every(interval, not_retried=[JOB_FAILED, *AWS_ERRORS_NOT_RETRIED]),
    )


POST_PROCESS = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(minutes=15),
    heartbeat=timedelta(minutes=1),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=list(AWS_ERRORS_NOT_RETRIED)),
)
"""Verify, flag and stage every file of a job's output."""

VERIFY = StepPolicy(
    start_to_close=timedelta(minutes=5),
    retry=exponential(3, not_retried=[SEGMENTS_MISSING]),
)
"""Segments missing after the resubmission: parks (retry re-checks, skip accepts, abort fails the pair)."""

RECORD = StepPolicy(start_to_close=timedelta(seconds=30), retry=exponential(20, cap=timedelta(seconds=30)))
"""Postgres rows and SNS notices: they try hard, then park, so no record is lost."""

RELEASE_SLOT = RECORD
"""Giving a job slot back must happen, or the fleet's quota shrinks."""

DELIVER = StepPolicy(
    start_to_close=timedelta(minutes=15),
    heartbeat=timedelta(minutes=1),
    retry=exponential(10, cap=timedelta(seconds=60)),
)
"""Copy staged files to the outbound prefix and apply the customer's lifecycle rule."""
