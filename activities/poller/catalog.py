"""The poller's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.deps import ActivityDeps, activities_of
from activities.poller.activities import PollerActivities


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every poller activity, bound."""
    return activities_of(
        PollerActivities(
            deps.aws,
            deps.sessions,
            deps.resources,
            deps.poller,
            http=deps.poller_http,
            timeout_seconds=deps.http_timeout_seconds,
        )
    )
