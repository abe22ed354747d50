"""What every activity package is built from: the clients and settings the worker owns.

The worker creates one :class:`ActivityDeps` per process; each pipeline's ``catalog.py``
builds its activity instances from it, and :func:`activities_of` collects their
``@activity.defn`` methods, so no list of methods is written by hand.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from temporalio.client import Client

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.poller.urls import PollerAccess


@dataclass(frozen=True)
class PartnerEndpoints:
    """Base URLs of the partner systems and the key sent to the payment provider."""

    payment_url: str
    enrichment_url: str
    payment_api_key: str = ""


@dataclass(frozen=True)
class ActivityDeps:
    """Everything activities may touch, created once per worker process."""

    aws: AwsClients
    sessions: SessionMaker
    resources: Resources
    client: Client
    http: aiohttp.ClientSession
    """Partner HTTP APIs (payment provider, enrichment)."""
    partners: PartnerEndpoints
    poller: PollerAccess = field(default_factory=PollerAccess)
    """Which partner APIs the poller may fetch."""
    http_timeout_seconds: float = 10.0
    """Per-request timeout of partner HTTP calls."""
    poller_http: aiohttp.ClientSession | None = None
    """The poller's session, which resolves names through its address guard (created on first
    use when not given)."""


def activities_of(*instances: object) -> list[Callable[..., Any]]:
    """Every ``@activity.defn`` method of the given activity instances, bound."""
    found: list[Callable[..., Any]] = []
    for instance in instances:
        for _, method in inspect.getmembers(instance, inspect.ismethod):
            if hasattr(method, "__temporal_activity_definition"):
                found.append(method)
    return found
