"""The doctor's probes, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.deps import ActivityDeps, activities_of
from activities.doctor.activities import DoctorActivities


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every probe, bound."""
    return activities_of(DoctorActivities(deps.aws, deps.sessions, deps.resources, deps.client))
