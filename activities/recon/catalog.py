"""The reconciliation pipeline's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.deps import ActivityDeps, activities_of
from activities.recon.activities import ReconActivities
from activities.recon.providers import EnvironmentProvider, LocalPostgresProvider, database_url_of
from activities.recon.ssm import SsmProvider


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every reconciliation activity, bound, with both environment providers."""
    providers: dict[str, EnvironmentProvider] = {
        "local-postgres": LocalPostgresProvider(database_url_of(deps.sessions), deps.aws),
        "aws-ssm": SsmProvider(deps.aws),
    }
    return activities_of(ReconActivities(deps.aws, deps.sessions, deps.resources, providers))
