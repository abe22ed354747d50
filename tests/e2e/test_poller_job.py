"""The API poller end to end on the dev server: emulator pages -> S3 -> SQS -> consumer -> Postgres."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.poller.contracts import TASK_STATES, JobSummary, job_workflow_id
from tests.support.b2b import isolated_resources
from tests.support.poller import (
    PARTNER,
    configure,
    dataset_state,
    dataset_url,
    new_dataset,
    poller_settings,
    poller_worker,
    raw_objects,
    record_count,
    stored_records,
    task_counts,
)
from worker.services import poller as service
from worker.settings import Settings


@pytest.fixture(scope="module")
def poller_resources(aws_endpoint: str) -> Resources:
    """This module's own payload queue, dead-letter queue and bucket."""
    return isolated_resources()


@pytest.fixture
def poller_config(settings: Settings, poller_resources: Resources, emulators: Any) -> Settings:
    return poller_settings(settings, poller_resources, emulators)


async def start(client: Client, config: Settings, url: str, job_id: str) -> Any:
    request = service.job_request(config, PARTNER, url, job_id)
    submitted = await service.submit_job(
        client, config.worker.task_queue, service.poller_access(config), request, owner=None
    )
    return client.get_workflow_handle(submitted.workflow_id, result_type=JobSummary)


async def test_a_35_page_job_stores_every_record_once_and_counts_go_through_the_states_in_order(
    dev_env: WorkflowEnvironment,
    poller_config: Settings,
    sessions: SessionMaker,
    poller_resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    dataset = new_dataset()
    # A little latency per page, so the counts can be watched moving.
    await configure(http, emulators, dataset, records=350, page_size=10, latency_seconds=0.05)
    job_id = f"job-{dataset}"
    seen: list[dict[str, int]] = []
    async with poller_worker(dev_env.client, poller_config, sessions, poller_resources, aws, partner_http):
        handle = await start(dev_env.client, poller_config, dataset_url(emulators, dataset), job_id)
        result = asyncio.create_task(handle.result())
        while not result.done():
            seen.append(await task_counts(sessions, job_id))
            await asyncio.sleep(0.05)
        summary = await result

    assert summary.status == "COMPLETED"
    assert summary.counts["SuccessfullyCompleted"] == 35 and summary.counts["Total"] == 35
    assert summary.counts["FailedToComplete"] == 0
    records = await stored_records(sessions, PARTNER, dataset)
    assert len(records) == 350 == await record_count(sessions, PARTNER, dataset)
    assert {row.revision for row in records.values()} == {1}
    assert await raw_objects(aws, poller_resources, job_id) == []
    # Mid-run observations: tasks only ever move forward through the article's states.
    rank = {state: i for i, state in enumerate(TASK_STATES)}
    for earlier, later in itertools.pairwise(seen):
        done_before = sum(earlier[s] for s in TASK_STATES if rank[s] >= rank["Enqueued"])
        done_after = sum(later[s] for s in TASK_STATES if rank[s] >= rank["Enqueued"])
        assert done_after >= done_before
        assert later["SuccessfullyCompleted"] >= earlier["SuccessfullyCompleted"]
    moving = [c for c in seen if c["Total"] == 35 and c["SuccessfullyCompleted"] < 35]
    assert any(c["Started"] + c["PayloadSaved"] + c["Enqueued"] > 0 for c in moving), seen
    state = await dataset_state(http, emulators, dataset)
    # Pages overlap (the limit is reached or nearly so), and never more than the setting.
    assert 2 <= state["max_in_flight"] <= poller_config.poller.max_in_flight
    assert all(count == 1 for count in state["calls"].values()) and len(state["calls"]) == 35
    # A second start of the same job is the same job.
    again = await start(dev_env.client, poller_config, dataset_url(emulators, dataset), job_id)
    assert again.id == job_workflow_id(job_id)
