"""Timeouts, retries and failure handling of every B2B step (DESIGN §5.4).

A non-retryable error is the content's fault (a malformed note, an unknown user:
quarantined) or a typed refusal: it ends the transaction or batch. Retries running out (the
enrichment API down, throttling) parks the step for an operator.
"""

from __future__ import annotations

from datetime import timedelta

from activities.b2b.contracts import ENRICHMENT_REJECTED, MALFORMED_TRANSACTION
from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from workflows.common.retry_shapes import exponential
from workflows.common.step_policy import StepPolicy

_STEP_RETRY = exponential(6, cap=timedelta(seconds=30), not_retried=AWS_ERRORS_NOT_RETRIED)

FORMAT = StepPolicy(
    on_non_retryable="fail",
    local=True,
    start_to_close=timedelta(seconds=10),
    retry=exponential(6, cap=timedelta(seconds=30), not_retried=[MALFORMED_TRANSACTION]),
)
"""Turn the note into two user ids and record FORMATTED; a malformed note is not retried.
A local activity: a regex and one row update do not need a round trip through the task queue."""

ENRICH = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=10),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=[ENRICHMENT_REJECTED]),
)
"""The enrichment API: 5xx, 429 and timeouts retried (about 2 minutes in all), 4xx not."""

STORE = StepPolicy(start_to_close=timedelta(seconds=15), retry=_STEP_RETRY, local=True, on_non_retryable="fail")
"""Conditional DynamoDB put + STORED in Postgres: short and idempotent, so a local activity
in the workflow task that follows enrichment."""

SETTLE = StepPolicy(
    start_to_close=timedelta(seconds=15),
    retry=exponential(20, cap=timedelta(seconds=60)),
)
"""Recording that a transaction or a batch ended unfinished: must not be lost, so retried ~15 minutes, then parked."""

REGISTER_BATCH = StepPolicy(start_to_close=timedelta(seconds=15), retry=_STEP_RETRY, on_non_retryable="fail")
"""The batch row."""

SPLIT = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(hours=2),
    heartbeat=timedelta(seconds=60),
    retry=exponential(6, first=timedelta(seconds=5), cap=timedelta(minutes=5), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""Stream the file, write chunks: long, heartbeating after every piece read."""

DISPATCH_CHUNK = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(seconds=20),
    retry=exponential(20, first=timedelta(seconds=5), cap=timedelta(minutes=5), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""Run one chunk's transaction workflows and wait for them. It heartbeats every few seconds
while waiting, so a dead worker's dispatch is retried elsewhere within ~20 s; the
transactions it had started carry on meanwhile."""

REPORT = StepPolicy(start_to_close=timedelta(seconds=60), retry=_STEP_RETRY, on_non_retryable="fail")
"""Count outcomes, write the report."""
