"""The composition root: settings -> engine -> clients -> activity instances -> Worker.

This is the only place that knows both ``workflows/`` and ``activities/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalog import build_activities
from activities.common.aws import AwsClients
from activities.common.db import create_engine, create_session_maker
from activities.common.deps import ActivityDeps, PartnerEndpoints
from activities.common.resources import Resources
from activities.poller.urls import guarded_session
from worker import speedups
from worker.services.poller import poller_access
from worker.settings import Settings
from workflows.catalog import WORKFLOWS


@asynccontextmanager
async def activity_deps(settings: Settings, client: Client) -> AsyncIterator[ActivityDeps]:
    """Open every client activities use; close them when the worker is done."""
    engine = create_engine(settings.require_database_url(), pool_size=settings.database_pool_size, for_worker=True)
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.partners.http_timeout_seconds))
    access = poller_access(settings)
    poller_http = guarded_session(access, settings.partners.http_timeout_seconds)
    try:
        yield ActivityDeps(
            aws=AwsClients(),
            sessions=create_session_maker(engine),
            resources=Resources(prefix=settings.aws.name_prefix),
            client=client,
            http=http,
            partners=PartnerEndpoints(
                payment_url=settings.partners.payment_url,
                enrichment_url=settings.partners.enrichment_url,
                payment_api_key=settings.partners.payment_api_key.get_secret_value(),
            ),
            poller=access,
            http_timeout_seconds=settings.partners.http_timeout_seconds,
            poller_http=poller_http,
        )
    finally:
        await http.close()
        await poller_http.close()
        await engine.dispose()


def create_worker(client: Client, settings: Settings, deps: ActivityDeps) -> Worker:
    """A worker polling Stepwise's task queue with every workflow and activity registered."""
    speedups.before_polling(WORKFLOWS, settings.worker.sdk_speedups)
    return Worker(
        client,
        task_queue=settings.worker.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=speedups.workflow_runner(settings.worker.sdk_speedups),
        activities=build_activities(deps),
        max_concurrent_activities=settings.worker.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker.graceful_shutdown_seconds),
    )
