"""The shapes of retry every step policy is built from (DESIGN §4.1).

A step's policy names its numbers (attempts, first interval, cap, errors not retried) and
takes its shape from here, so the block of ``RetryPolicy`` keywords is written once. The
mapping from the articles' Amazon States Language: IntervalSeconds -> ``first``,
BackoffRate -> the shape (2.0 for :func:`exponential`, 1.0 for :func:`poll_every`),
MaxAttempts -> ``attempts`` (0: no limit), MaxDelaySeconds -> ``cap``, ErrorEquals -> the
inverse, ``not_retried``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio.common import RetryPolicy

SECOND = timedelta(seconds=1)
BACKOFF = 2.0
"""Each wait twice the one before, as the articles' BackoffRate 2."""


def exponential(
    attempts: int, *, first: timedelta = SECOND, cap: timedelta | None = None, not_retried: Sequence[str] = ()
) -> RetryPolicy:
    """Retry after ``first``, doubling each time up to ``cap``, for ``attempts`` attempts in all (0: no limit).

    Without ``cap`` Temporal caps the wait at 100 times ``first``.
    """
    return RetryPolicy(
        initial_interval=first,
        backoff_coefficient=BACKOFF,
        maximum_interval=cap,
        maximum_attempts=attempts,
        non_retryable_error_types=list(not_retried) or None,
    )


def poll_every(interval: timedelta, *, attempts: int = 0, not_retried: Sequence[str] = ()) -> RetryPolicy:
    """The retry-as-poll pattern: try again every ``interval`` exactly (backoff 1.0)."""
    return RetryPolicy(
        initial_interval=interval,
        backoff_coefficient=1.0,
        maximum_interval=interval,
        maximum_attempts=attempts,
        non_retryable_error_types=list(not_retried) or None,
    )


def once() -> RetryPolicy:
    """A single attempt: the first error is the answer."""
    return RetryPolicy(maximum_attempts=1)
