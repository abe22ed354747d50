"""The media pipeline's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.deps import ActivityDeps, activities_of
from activities.media.activities import MediaActivities


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every media activity, bound."""
    return activities_of(MediaActivities(deps.aws, deps.sessions, deps.resources))
