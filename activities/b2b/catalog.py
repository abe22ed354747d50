"""The B2B pipeline's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.b2b.batch import B2BBatchActivities
from activities.b2b.transaction import B2BTransactionActivities
from activities.common.deps import ActivityDeps, activities_of


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every B2B activity (transactions and batches), bound."""
    return activities_of(
        B2BTransactionActivities(deps.aws, deps.sessions, deps.resources, deps.http, deps.partners.enrichment_url),
        B2BBatchActivities(deps.aws, deps.sessions, deps.resources, deps.client),
    )
