"""The poller under a misbehaving partner and a poisoned message, on the dev server.

Each test runs a small job (eight pages) against its own data set on the partner emulator
and asserts on the world: the emulator's call counters, ``poller_tasks`` and
``partner_records`` in Postgres, the payload objects in S3, the dead-letter queue, and the
slice workflow's history.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.poller.contracts import JobSummary, slice_workflow_id, task_id
from tests.support.b2b import isolated_resources, wait_for
from tests.support.poller import (
    PARTNER,
    configure,
    dataset_state,
    dataset_url,
    new_dataset,
    poller_settings,
    poller_worker,
    raw_objects,
    stored_records,
    task_rows,
)
from tests.support.step_control import wait_waiting
from worker.services import dead_letters as dead_letters_view
from worker.services import operations
from worker.services import poller as service
from worker.settings import Settings

PAGES = 8
RECORDS = PAGES * 10


@pytest.fixture(scope="module")
def poller_resources(aws_endpoint: str) -> Resources:
    return isolated_resources()


@pytest.fixture
def config(settings: Settings, poller_resources: Resources, emulators: Any) -> Settings:
    return poller_settings(settings, poller_resources, emulators)


@pytest.fixture
async def running(
    dev_env: WorkflowEnvironment,
    config: Settings,
    sessions: SessionMaker,
    poller_resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
) -> Any:
    async with poller_worker(dev_env.client, config, sessions, poller_resources, aws, partner_http):
        yield dev_env.client


async def start_job(client: Client, config: Settings, emulators: Any, dataset: str) -> WorkflowHandle[Any, JobSummary]:
    request = service.job_request(config, PARTNER, dataset_url(emulators, dataset), f"job-{dataset}")
    submitted = await service.submit_job(
        client, config.worker.task_queue, service.poller_access(config), request, owner=None
    )
    return client.get_workflow_handle(submitted.workflow_id, result_type=JobSummary)


async def test_a_page_answering_503_twice_is_fetched_on_its_third_attempt(
    running: Client, config: Settings, sessions: SessionMaker, emulators: Any, http: httpx.AsyncClient
) -> None:
    dataset = new_dataset()
    await configure(http, emulators, dataset, records=RECORDS, fail_pages={3: 2})
    summary = await (await start_job(running, config, emulators, dataset)).result()

    assert summary.status == "COMPLETED" and summary.counts["SuccessfullyCompleted"] == PAGES
    assert (await dataset_state(http, emulators, dataset))["calls"]["3"] == 3
    tasks = await task_rows(sessions, f"job-{dataset}")
    assert tasks[3].attempts == 3 and {t.attempts for p, t in tasks.items() if p != 3} == {1}
    assert len(await stored_records(sessions, PARTNER, dataset)) == RECORDS


async def test_a_429_with_retry_after_2_waits_about_2_seconds_before_the_next_attempt(
    running: Client, config: Settings, emulators: Any, http: httpx.AsyncClient
) -> None:
    dataset = new_dataset()
    await configure(http, emulators, dataset, records=RECORDS, throttle_pages={4: 1}, retry_after="2")
    summary = await (await start_job(running, config, emulators, dataset)).result()
    assert summary.status == "COMPLETED"

    # The fetch of page 4: scheduled once; its started event is the second attempt's.
    history = await running.get_workflow_handle(slice_workflow_id(f"job-{dataset}", 0)).fetch_history()
    scheduled = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            page = json.loads(event.activity_task_scheduled_event_attributes.input.payloads[0].data)["page"]
            scheduled[event.event_id] = (page, event.event_time.ToDatetime())
    started = {
        scheduled[e.activity_task_started_event_attributes.scheduled_event_id][0]: (
            e.activity_task_started_event_attributes.attempt,
            e.event_time.ToDatetime(),
            e.activity_task_started_event_attributes.last_failure.message,
        )
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    }
    attempt, second_start, last_failure = started[4]
    first_scheduled = next(when for page, when in scheduled.values() if page == 4)
    assert attempt == 2 and "429" in last_failure and "retry after 2s" in last_failure
    # The policy's own first wait is 0.5 s: a gap of ~2 s is the partner's Retry-After.
    assert timedelta(seconds=1.9) <= second_start - first_scheduled <= timedelta(seconds=3.5)
    assert (await dataset_state(http, emulators, dataset))["calls"]["4"] == 2


async def test_a_page_that_never_succeeds_parks_shows_in_attention_and_a_skip_ends_the_job(
    running: Client,
    config: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    poller_resources: Resources,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    dataset = new_dataset()
    await configure(http, emulators, dataset, records=RECORDS, never_pages=[5])
    job = await start_job(running, config, emulators, dataset)
    slice_handle = running.get_workflow_handle(slice_workflow_id(f"job-{dataset}", 0))
    parked = await wait_waiting(slice_handle, "fetch:5", timeout=60)
    assert parked.last_error_type == "PartnerApiUnavailable" and "503" in parked.last_error

    async def listed() -> list[operations.AttentionItem]:
        items = await operations.list_attention(running)
        return [i for i in items if i.workflow_id == slice_handle.id]

    [item] = await wait_for(listed, 30)
    assert (item.pipeline, item.step) == ("poller", "fetch:5")
    # The other pages went on while page 5 waited.
    tasks = await task_rows(sessions, f"job-{dataset}")
    assert tasks[5].status == "Started" and tasks[5].attempts == 5
    assert sum(t.status == "SuccessfullyCompleted" for t in tasks.values()) == PAGES - 1

    await operations.send_decision(
        running, slice_handle.id, StepDecision("fetch:5", "skip", operator="ops-anna", reason="partner lost page 5")
    )
    summary = await job.result()
    assert summary.status == "COMPLETED_WITH_FAILURES"
    assert summary.counts["FailedToComplete"] == 1 and summary.counts["SuccessfullyCompleted"] == PAGES - 1
    assert summary.failures == [{"page": "5", "task": task_id(5), "error": "skipped by ops-anna"}]
    assert (await dataset_state(http, emulators, dataset))["calls"]["5"] == 5  # the policy's five attempts
    assert await raw_objects(aws, poller_resources, f"job-{dataset}") == []


async def test_a_refused_page_fails_its_task_without_retries(
    running: Client, config: Settings, sessions: SessionMaker, emulators: Any, http: httpx.AsyncClient
) -> None:
    dataset = new_dataset()
    await configure(http, emulators, dataset, records=RECORDS, refuse_pages=[7])
    summary = await (await start_job(running, config, emulators, dataset)).result()

    assert summary.status == "COMPLETED_WITH_FAILURES" and summary.counts["FailedToComplete"] == 1
    [failure] = summary.failures
    assert failure["page"] == "7" and "answered 404" in failure["error"]
    assert (await dataset_state(http, emulators, dataset))["calls"]["7"] == 1
    assert len(await stored_records(sessions, PARTNER, dataset)) == RECORDS - 10


async def test_a_poisoned_message_goes_to_the_dead_letter_queue_and_its_task_fails(
    running: Client,
    config: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    poller_resources: Resources,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    dataset = new_dataset()
    # Page 6's last record holds a NUL character: valid JSON, refused by Postgres on every receive.
    await configure(http, emulators, dataset, records=RECORDS, poison_pages=[6])
    summary = await (await start_job(running, config, emulators, dataset)).result()

    assert summary.status == "COMPLETED_WITH_FAILURES"
    [failure] = summary.failures
    assert failure["page"] == "6" and failure["error"].startswith("processing:")
    dlq = await aws.queue_url(poller_resources.poller_dlq)

    async def dead_letters() -> list[dict[str, Any]]:
        got = await aws.call(
            "sqs",
            "receive_message",
            QueueUrl=dlq,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
        )
        return [m for m in got.get("Messages", []) if json.loads(m["Body"])["jobId"] == f"job-{dataset}"]

    [letter] = await wait_for(dead_letters, 30)
    assert letter["MessageAttributes"]["taskId"]["StringValue"] == task_id(6)
    # The operators' dead-letter view lists it under its job and page, and says why it is not redriven.
    [listed] = [
        m for m in await dead_letters_view.peek(aws, poller_resources, "poller") if m.business_key == f"job-{dataset}"
    ]
    assert (listed.workflow_id, listed.failed_step) == (f"poller-job-{dataset}", f"process:{task_id(6)}")
    assert not listed.redrivable and "FailedToComplete" in listed.not_redrivable_because
    # Page 6 stored nothing (one transaction); its payload stays in S3 for whoever redrives it.
    records = await stored_records(sessions, PARTNER, dataset)
    assert len(records) == RECORDS - 10
    assert await raw_objects(aws, poller_resources, f"job-{dataset}") == [
        f"poller/raw/{PARTNER}/job-{dataset}/page-000006.json"
    ]
