"""Policies of the steps every pipeline shares: a generic AWS call and step control's own effects."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from workflows.common.retry_shapes import exponential
from workflows.common.step_policy import StepPolicy

AWS_CALL = StepPolicy(
    on_non_retryable="fail",
    start_to_close=timedelta(seconds=30),
    retry=exponential(5, cap=timedelta(seconds=30), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""A generic AWS SDK call (``call_aws``): AWS's refusal is the caller's answer; retries running out park."""

STEP_CONTROL_AUDIT = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(0, cap=timedelta(minutes=1)),
)
"""Writing a decision's audit row: retried until Postgres answers (a decision is never unaudited)."""

STEP_CONTROL_AUDIT_LOCAL = replace(STEP_CONTROL_AUDIT, local=True)
"""The same as a local activity: one short insert, in the workflow task that took the decision
(past a minute of failures the SDK waits between attempts on a timer)."""

STEP_CONTROL_NOTIFY = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=exponential(10, cap=timedelta(minutes=1), not_retried=AWS_ERRORS_NOT_RETRIED),
)
"""Telling operators a step waits: retried, but a lost notice never blocks the wait itself."""
