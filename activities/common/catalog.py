"""Activities every pipeline shares: ``call_aws`` and step control's audit and notices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.common.aws import AwsActivities
from activities.common.decision_log import DecisionLog
from activities.common.deps import ActivityDeps, activities_of
from activities.common.notify import Notifier
from activities.common.step_control import StepControlActivities


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """``call_aws``, ``step_control_record_decision`` and ``step_control_notify``, bound."""
    notifier = Notifier(deps.aws, deps.sessions)
    return activities_of(
        AwsActivities(deps.aws),
        StepControlActivities(DecisionLog(deps.sessions), notifier, deps.resources),
    )
