"""Every activity the worker registers: each package contributes its own (one line per pipeline)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.b2b import catalog as b2b
from activities.booking import catalog as booking
from activities.common import catalog as common
from activities.common.deps import ActivityDeps
from activities.doctor import catalog as doctor
from activities.documents import catalog as documents
from activities.media import catalog as media
from activities.poller import catalog as poller
from activities.recon import catalog as recon
from activities.translation import catalog as translation

PACKAGES = (common, doctor, booking, recon, media, b2b, poller, translation, documents)
"""The activity packages, each with ``activities(deps)``."""


def build_activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Bound activity methods of every pipeline, ready for ``Worker(activities=...)``."""
    return [activity for package in PACKAGES for activity in package.activities(deps)]
