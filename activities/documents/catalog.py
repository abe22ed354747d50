"""The shipment documents pipeline's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.deps import ActivityDeps, activities_of
from activities.common.notify import Notifier
from activities.documents.check import FieldCheck
from activities.documents.consolidate import Consolidation
from activities.documents.entities import EntityDetection
from activities.documents.review import DocumentReviews
from activities.documents.screen import DocumentScreening
from activities.documents.textract import DocumentAnalysis


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every shipment documents activity, bound."""
    return activities_of(
        DocumentScreening(deps.aws, deps.sessions, deps.resources),
        DocumentAnalysis(deps.aws, deps.sessions, deps.resources),
        EntityDetection(deps.aws, deps.resources),
        FieldCheck(deps.aws, deps.sessions, deps.resources),
        DocumentReviews(deps.sessions),
        Consolidation(deps.aws, deps.sessions, deps.resources, Notifier(deps.aws, deps.sessions)),
    )
