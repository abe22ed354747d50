"""Retention: the scheduled workflow purges old tasks of finished jobs (the article's DynamoDB TTL).

On the dev server with the real worker: the retention schedule is created from the
settings, triggered, and its run deletes exactly the tasks of finished jobs untouched for
longer than the retention age, with any payload object they still held; a running job's
old tasks and a finished job's recent ones stay.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, update
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.poller import PollerJob, PollerTask
from activities.poller.contracts import FAILED, RETENTION_SCHEDULE_ID, SUCCEEDED, RetentionResult, raw_key, task_id
from tests.support.b2b import isolated_resources, wait_for
from tests.support.poller import PARTNER, poller_settings, poller_worker, raw_objects, task_rows
from worker.services.poller import ensure_retention_schedule
from worker.settings import Settings

RETENTION_DAYS = 7.0


@pytest.fixture(scope="module")
def poller_resources(aws_endpoint: str) -> Resources:
    return isolated_resources()


@pytest.fixture
def config(settings: Settings, poller_resources: Resources, emulators: Any) -> Settings:
    return poller_settings(
        settings, poller_resources, emulators, retention_days=RETENTION_DAYS, retention_every_minutes=720
    )


async def _job(sessions: SessionMaker, job_id: str, *, finished: bool, age_days: float, keys: bool = False) -> None:
    """A job of three tasks last touched ``age_days`` ago (the first holding a payload key if ``keys``)."""
    async with sessions() as session, session.begin():
        session.add(
            PollerJob(
                job_id=job_id,
                partner_id=PARTNER,
                url="https://partner.invalid/api/",
                workflow_id=f"poller-{job_id}",
                status="COMPLETED" if finished else "FETCHING",
                pages=3,
                finished_at=func.now() if finished else None,
            )
        )
        await session.flush()
        for page in (1, 2, 3):
            session.add(
                PollerTask(
                    job_id=job_id,
                    task_id=task_id(page),
                    page=page,
                    status=FAILED if page == 1 else SUCCEEDED,
                    s3_key=raw_key(PARTNER, job_id, page) if keys and page == 1 else None,
                )
            )
        await session.flush()
        await session.execute(
            update(PollerTask)
            .where(PollerTask.job_id == job_id)
            .values(updated_at=func.now() - timedelta(days=age_days))
        )


async def test_the_retention_schedule_purges_old_tasks_of_finished_jobs_and_their_payloads(
    dev_env: WorkflowEnvironment,
    config: Settings,
    sessions: SessionMaker,
    poller_resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
) -> None:
    run = uuid.uuid4().hex[:8]
    old_finished, old_running, recent_finished = f"old-{run}", f"running-{run}", f"recent-{run}"
    await _job(sessions, old_finished, finished=True, age_days=RETENTION_DAYS + 3, keys=True)
    await _job(sessions, old_running, finished=False, age_days=RETENTION_DAYS + 3)
    await _job(sessions, recent_finished, finished=True, age_days=RETENTION_DAYS - 1)
    # A page whose processing failed keeps its payload for a redrive; retention is its end.
    kept_payload = raw_key(PARTNER, old_finished, 1)
    await aws.call("s3", "put_object", Bucket=poller_resources.poller_bucket, Key=kept_payload, Body=b"{}")

    client: Client = dev_env.client
    schedule = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    try:
        assert await ensure_retention_schedule(client, config) is True
        assert await ensure_retention_schedule(client, config) is False  # a second worker only checks it
        described = await schedule.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=12)
        async with poller_worker(client, config, sessions, poller_resources, aws, partner_http, consumer=False):
            await schedule.trigger()
            run_id = await wait_for(lambda: _first_action(client), timeout=30)
            result = await asyncio.wait_for(
                client.get_workflow_handle(run_id, result_type=RetentionResult).result(), 60
            )
    finally:
        await schedule.delete()

    assert result.tasks >= 3 and result.objects >= 1  # other tests' old data may be purged too
    assert await task_rows(sessions, old_finished) == {}
    assert await raw_objects(aws, poller_resources, old_finished) == []
    assert sorted(await task_rows(sessions, old_running)) == [1, 2, 3]
    assert sorted(await task_rows(sessions, recent_finished)) == [1, 2, 3]


async def _first_action(client: Client) -> str | None:
    """The workflow id of the schedule's first run, once it has one."""
    described = await client.get_schedule_handle(RETENTION_SCHEDULE_ID).describe()
    for action in described.info.recent_actions:
        workflow_id = getattr(action.action, "workflow_id", None)
        if workflow_id:
            return str(workflow_id)
    return None
