"""The doctor's one policy."""

from __future__ import annotations

from datetime import timedelta

from workflows.common.retry_shapes import once
from workflows.common.step_policy import StepPolicy

CHECK = StepPolicy(start_to_close=timedelta(seconds=15), retry=once(), on_exhausted="fail", on_non_retryable="fail")
"""A diagnostic probe: one attempt, so the doctor reports the first error it meets (it never parks)."""
