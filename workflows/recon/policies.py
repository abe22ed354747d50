"""Timeouts, retries and failure handling of every reconciliation step (DESIGN §5.2).

Every step parks when its retries run out, and so does a non-retryable error: an invalid
report or snapshot is for an operator to look at (fix and retry, or skip the report).
"""

from __future__ import annotations

from datetime import timedelta

from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from activities.recon.contracts import INVALID_RECONCILIATION, OPERATION_FAILED, REPORT_INVALID, SNAPSHOT_INVALID
from workflows.common.retry_shapes import exponential, poll_every
from workflows.common.step_policy import StepPolicy

NOT_RETRIED = [*AWS_ERRORS_NOT_RETRIED, INVALID_RECONCILIATION, OPERATION_FAILED, SNAPSHOT_INVALID, REPORT_INVALID]
"""Reconciliation errors an operator must look at: retrying them unchanged cannot help."""

BOOKKEEPING = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(10, cap=timedelta(seconds=30), not_retried=NOT_RETRIED),
)
"""Run records and summaries: small reads and writes of S3 and Postgres."""

PLAN = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(10, cap=timedelta(seconds=30), not_retried=NOT_RETRIED),
    on_exhausted="fail",
    on_non_retryable="fail",
)
"""Reading the report pack: a run whose plan cannot be made fails at once (nothing to rescue yet)."""

_POLL_RETRY = poll_every(timedelta(seconds=5), attempts=720, not_retried=NOT_RETRIED)
"""Retry-as-poll for environment operations: every 5 s for up to an hour (``OperationPending``)."""

ENVIRONMENT = StepPolicy(start_to_close=timedelta(minutes=10), retry=_POLL_RETRY, wait_for_cancellation=True)
"""Provision and tear down an environment (local: seconds; SSM: one poll per attempt)."""

RESTORE = StepPolicy(
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(seconds=60),
    retry=_POLL_RETRY,
    wait_for_cancellation=True,
)
"""Restore a snapshot: long (no 15-minute ceiling), heartbeats each committed batch."""

REPORT = StepPolicy(
    start_to_close=timedelta(hours=1),
    heartbeat=timedelta(minutes=5),
    retry=_POLL_RETRY,
    wait_for_cancellation=True,
)
"""Run one report and store its CSV."""

COMPARE = StepPolicy(
    start_to_close=timedelta(minutes=30),
    retry=exponential(5, first=timedelta(seconds=2), cap=timedelta(minutes=1), not_retried=NOT_RETRIED),
)
"""Compare one report pair (streams both CSVs from S3)."""

COMPARE_SHARE = StepPolicy(
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(minutes=2),
    retry=exponential(2, first=timedelta(seconds=2), cap=timedelta(seconds=30), not_retried=NOT_RETRIED),
    on_exhausted="fail",
    on_non_retryable="fail",
)
"""Several comparisons in one activity (heartbeat per report). A share that fails as a whole is
not parked: each of its reports runs as its own ``compare:<report>`` step instead."""
