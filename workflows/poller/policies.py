"""Timeouts, retries and failure handling of every poller step (DESIGN §5.5).

A partner that is down, slow or throttling is retried (its ``Retry-After`` honoured) and a
page whose retries run out parks for an operator; a partner answer that says the request
itself is wrong (4xx, a redirect, a body that is not its API's) is not retried and fails
only that page.
"""

from __future__ import annotations

from datetime import timedelta

from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from activities.poller.contracts import PARTNER_API_REFUSED, URL_REFUSED
from workflows.common.retry_shapes import exponential
from workflows.common.step_policy import StepPolicy

_REFUSALS = [PARTNER_API_REFUSED, URL_REFUSED, *AWS_ERRORS_NOT_RETRIED]

PREPARE = StepPolicy(
    start_to_close=timedelta(seconds=60),
    retry=exponential(5, first=timedelta(seconds=1), cap=timedelta(seconds=30), not_retried=_REFUSALS),
    on_non_retryable="fail",
)
"""Metadata and the task rows: a refused URL or unusable metadata fails the job at once."""

FETCH_PAGE = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(5, first=timedelta(milliseconds=500), cap=timedelta(seconds=30), not_retried=_REFUSALS),
    on_non_retryable="fail",
)
"""One page: five requests at most (0.5, 1, 2, 4 s apart, or what ``Retry-After`` asks), then
it parks; a refusal fails the page's task (``FailedToComplete``) and the job goes on."""

SETTLE = StepPolicy(start_to_close=timedelta(seconds=15), retry=exponential(20, cap=timedelta(seconds=60)))
"""Recording a failed task or job: must not be lost, so retried ~15 minutes, then parked."""

AWAIT_PROCESSING = StepPolicy(
    start_to_close=timedelta(hours=6),
    heartbeat=timedelta(seconds=30),
    retry=exponential(10, first=timedelta(seconds=5), cap=timedelta(minutes=1)),
)
"""Wait for the consumer to finish every task: one attempt asking Postgres once a second and
heartbeating (no history while it waits); a dead worker's wait resumes elsewhere within 30 s.
Six hours without an end parks the job for an operator."""

FINISH = StepPolicy(start_to_close=timedelta(seconds=30), retry=exponential(10, cap=timedelta(seconds=30)))
"""Counts and summary on the job row."""

PURGE = StepPolicy(
    start_to_close=timedelta(minutes=30),
    heartbeat=timedelta(seconds=60),
    retry=exponential(5, first=timedelta(seconds=5), cap=timedelta(minutes=2)),
)
"""The retention purge: batches of a thousand tasks, heartbeating after each."""
