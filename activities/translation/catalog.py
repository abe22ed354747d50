"""The translation pipeline's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.deps import ActivityDeps, activities_of
from activities.common.notify import Notifier
from activities.translation.jobs import TranslateJobs
from activities.translation.post_process import PostProcessor
from activities.translation.preprocess import Preprocessor
from activities.translation.project import ProjectRecords


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every translation activity, bound."""
    notifier = Notifier(deps.aws, deps.sessions)
    return activities_of(
        Preprocessor(deps.aws, deps.sessions),
        TranslateJobs(deps.aws, deps.sessions, deps.client),
        PostProcessor(deps.aws, deps.sessions, deps.resources, notifier),
        ProjectRecords(deps.aws, deps.sessions, deps.resources, notifier),
    )
