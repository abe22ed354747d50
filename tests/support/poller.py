"""Poller test helpers: an isolated queue and bucket, the emulator's data sets, the world's view.

Each test module gets resources under its own prefix, so the in-process consumer reads only
that module's payload messages; each test names its own data set on the partner emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp
import httpx
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, transaction
from activities.common.deps import ActivityDeps
from activities.common.resources import Resources
from activities.models.poller import PartnerRecord, PollerTask
from activities.poller import tasks
from activities.poller.processing import PageProcessor
from activities.poller.urls import guarded_session
from tests.conftest import make_deps
from worker.poller_consumer import PayloadConsumer
from worker.registry import create_worker
from worker.services.poller import poller_access
from worker.settings import Settings

PARTNER = "acme"


def poller_settings(settings: Settings, resources: Resources, emulators: Any, **poller: Any) -> Settings:
    """Settings registering the emulator's partner API for ``acme``, on ``resources``' queue and bucket."""
    group = settings.poller.model_copy(
        update={
            "partners": {PARTNER: [f"{emulators.state.url}/partner-api/"]},
            "allow_private_networks": True,  # the emulator listens on loopback
            "consumer_wait_seconds": 1,
            "retention_schedule": False,
            **poller,
        }
    )
    return settings.model_copy(
        update={"aws": settings.aws.model_copy(update={"name_prefix": resources.prefix}), "poller": group}
    )


def new_dataset() -> str:
    """A data set name no other test uses."""
    return f"ds{uuid.uuid4().hex[:10]}"


def dataset_url(emulators: Any, dataset: str) -> str:
    """The base URL of a data set on the emulator."""
    return f"{emulators.state.url}/partner-api/{dataset}/"


async def configure(http: httpx.AsyncClient, emulators: Any, dataset: str, **controls: Any) -> dict[str, Any]:
    """Set a data set's shape and fault switches."""
    response = await http.post(f"{emulators.state.url}/partner-api/control", json={"dataset": dataset, **controls})
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def dataset_state(http: httpx.AsyncClient, emulators: Any, dataset: str) -> dict[str, Any]:
    """A data set's counters (calls per page, most in flight)."""
    response = await http.get(f"{emulators.state.url}/partner-api/control", params={"dataset": dataset})
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


@asynccontextmanager
async def poller_worker(
    client: Client,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    *,
    consumer: bool = True,
) -> AsyncIterator[Worker]:
    """The real worker in-process, with the payload consumer on ``resources``' queue."""
    access = poller_access(settings)
    async with guarded_session(access, 5) as guarded:
        deps = replace(make_deps(client, sessions, resources, aws, partner_http, settings), poller_http=guarded)
        async with _running(client, settings, deps, aws, sessions, resources, consumer) as worker:
            yield worker


@asynccontextmanager
async def _running(
    client: Client,
    settings: Settings,
    deps: ActivityDeps,
    aws: AwsClients,
    sessions: SessionMaker,
    resources: Resources,
    consumer: bool,
) -> AsyncIterator[Worker]:
    worker = create_worker(client, settings, deps)
    async with worker:
        if consumer:
            processor = PageProcessor(aws, sessions, resources.poller_bucket)
            async with PayloadConsumer(aws, processor, resources, settings.poller.consumer_wait_seconds).running():
                yield worker
        else:
            yield worker


async def task_counts(sessions: SessionMaker, job_id: str) -> dict[str, int]:
    """The article's counts of a job, from Postgres."""
    async with transaction(sessions) as connection:
        return await tasks.counts(connection, job_id)


async def task_rows(sessions: SessionMaker, job_id: str) -> dict[int, PollerTask]:
    """Every task of a job, by page."""
    async with sessions() as session:
        rows = (await session.scalars(select(PollerTask).where(PollerTask.job_id == job_id))).all()
    return {row.page: row for row in rows}


async def stored_records(sessions: SessionMaker, partner: str, prefix: str) -> dict[str, PartnerRecord]:
    """The partner's records whose id starts with ``prefix`` (a data set's name)."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(PartnerRecord).where(
                    PartnerRecord.partner_id == partner, PartnerRecord.record_id.startswith(prefix + "-")
                )
            )
        ).all()
    return {row.record_id: row for row in rows}


async def record_count(sessions: SessionMaker, partner: str, prefix: str) -> int:
    """How many rows (not distinct ids: the key makes them the same) the data set has."""
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    PartnerRecord.partner_id == partner, PartnerRecord.record_id.startswith(prefix + "-")
                )
            )
            or 0
        )


async def raw_objects(aws: AwsClients, resources: Resources, job_id: str) -> list[str]:
    """Payload objects a job still has in S3."""
    response = await aws.call(
        "s3", "list_objects_v2", Bucket=resources.poller_bucket, Prefix=f"poller/raw/{PARTNER}/{job_id}/"
    )
    return [item["Key"] for item in response.get("Contents", [])]
