"""The inbox's and the bulk page's filter, read from the form as typed.

The filter arrives as text, not as typed query parameters: an empty "Waiting at least (min)"
field means no age filter, and a value that is not a number of minutes is said on the page
next to the field. A float parameter would answer an empty field with the API's 422 JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from worker.services.operations import PIPELINES, AttentionFilter
from worker.settings import LONGEST_WAIT_SECONDS

MAX_AGE_MINUTES = LONGEST_WAIT_SECONDS / 60
"""A longer wait (a leap year) matches nothing more, so longer filters are cut to it."""


@dataclass(frozen=True)
class FilterForm:
    """A filter as the operator typed it, and the selection it means."""

    pipeline: str
    step: str
    error_type: str
    min_age_minutes: str
    """As typed (stripped): the form shows it again, a link carries it on."""
    selection: AttentionFilter
    """What it selects; every field empty when ``problem`` is set."""
    problem: str = ""
    """Why the age is refused (shown next to its field), or empty."""

    def fields(self) -> dict[str, str]:
        """The form's values for the templates (``filters``)."""
        return {
            "pipeline": self.pipeline,
            "step": self.step,
            "error_type": self.error_type,
            "min_age_minutes": self.min_age_minutes,
        }


def read_filter(pipeline: str, step: str, error_type: str, min_age_minutes: str) -> FilterForm:
    """The filter the fields mean, or its ``problem`` when the age is not a number of minutes from 0."""
    typed = min_age_minutes.strip()
    minutes, problem = _minutes(typed)
    if problem:
        return FilterForm(pipeline, step, error_type, typed, AttentionFilter(), problem)
    selection = AttentionFilter(
        pipeline=pipeline if pipeline in PIPELINES else "",
        step=step.strip()[:200],
        error_type=error_type.strip()[:200],
        min_age_seconds=min(minutes, MAX_AGE_MINUTES) * 60,
    )
    return FilterForm(pipeline, step, error_type, typed, selection)


def _minutes(typed: str) -> tuple[float, str]:
    """Minutes and no problem, or 0 and why not; empty is 0 (no age filter)."""
    if not typed:
        return 0.0, ""
    try:
        minutes = float(typed)
    except ValueError:
        minutes = math.nan
    # float() also reads "nan", "inf" and "-1e400": none of them is a wait.
    if not math.isfinite(minutes) or minutes < 0:
        return 0.0, f"Waiting at least (min): {typed!r} is not a number of minutes from 0 (leave it empty for any age)"
    return minutes, ""
