"""The booking saga's activities, built from the worker's clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.booking.activities import BookingActivities
from activities.booking.payments import PaymentProvider
from activities.common.deps import ActivityDeps, activities_of


def activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Every booking activity, bound."""
    payments = PaymentProvider(deps.http, deps.partners.payment_url, deps.partners.payment_api_key)
    return activities_of(BookingActivities(deps.aws, deps.sessions, deps.resources, payments))
