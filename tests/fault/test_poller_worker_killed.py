"""A worker SIGKILLed in the middle of a poller job: after a restart the job completes cleanly.

The worker runs as a child process (fetch activities, slice and job workflows, and the
payload consumer all in it) against the dev server, moto and the partner emulator. It is
killed while pages are being fetched and stored, a second worker takes over, and the world
must show: every page SuccessfullyCompleted, every record stored exactly once (revision 1),
no page requested more often than its retry policy allows (and only the pages in flight at
the kill requested twice), and no payload object left in S3.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.poller.contracts import SUCCEEDED, JobSummary, job_workflow_id, slice_workflow_id
from tests.support.b2b import isolated_resources, wait_for
from tests.support.poller import (
    PARTNER,
    configure,
    dataset_state,
    dataset_url,
    new_dataset,
    raw_objects,
    stored_records,
    task_counts,
    task_rows,
)
from tests.support.processes import stack_env, start_worker, stepwise
from worker.devstack.processes import free_port
from worker.settings import Settings
from workflows.poller.policies import FETCH_PAGE

PAGES = 60
PAGE_SIZE = 10
MAX_IN_FLIGHT = 5
SLICE_PAGES = 20

pytestmark = pytest.mark.fault


async def test_a_job_survives_its_worker_being_killed_and_stores_each_record_once(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    aws_endpoint: str,
    emulators: Any,
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    resources = isolated_resources()
    dataset = new_dataset()
    job_id = f"killed-{dataset}"
    # 0.4 s a page with five in flight: the pages take about five seconds, long enough to kill in.
    await configure(http, emulators, dataset, records=PAGES * PAGE_SIZE, page_size=PAGE_SIZE, latency_seconds=0.4)
    env = stack_env(
        dev_env,
        settings,
        STEPWISE_AWS__NAME_PREFIX=resources.prefix,
        STEPWISE_POLLER__PARTNERS=json.dumps({PARTNER: [f"{emulators.state.url}/partner-api/"]}),
        STEPWISE_POLLER__ALLOW_PRIVATE_NETWORKS="true",  # the emulator listens on loopback
        STEPWISE_POLLER__MAX_IN_FLIGHT=str(MAX_IN_FLIGHT),
        STEPWISE_POLLER__SLICE_PAGES=str(SLICE_PAGES),
        STEPWISE_POLLER__CONSUMER_ENABLED="true",
        STEPWISE_POLLER__CONSUMER_WAIT_SECONDS="1",
        STEPWISE_POLLER__RETENTION_SCHEDULE="false",
    )

    def worker_env() -> dict[str, str]:
        return {
            **env,
            "STEPWISE_WORKER__HEALTH_PORT": str(free_port()),
            "STEPWISE_WORKER__METRICS_PORT": str(free_port()),
        }

    log = tmp_path / "worker.log"
    first = start_worker(worker_env(), str(log))
    second = None
    try:
        started = await asyncio.to_thread(
            stepwise,
            "poller",
            "start",
            dataset_url(emulators, dataset),
            "--partner",
            PARTNER,
            "--job-id",
            job_id,
            env=env,
        )
        assert started.returncode == 0, started.stderr
        at_kill = await wait_for(lambda: _stored_at_least(sessions, job_id, 15), timeout=90)
        first.kill()  # SIGKILL: no drain, no goodbye
        await asyncio.to_thread(first.wait, 10)
        assert at_kill < PAGES, "the job finished before the kill; slow the pages down"
        second = start_worker(worker_env(), str(log))
        summary = await asyncio.wait_for(
            dev_env.client.get_workflow_handle(job_workflow_id(job_id), result_type=JobSummary).result(), 180
        )
        # A page stored just before the kill may keep its object until its message is redelivered.
        await wait_for(lambda: _no_objects(aws, resources, job_id), timeout=90)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()

    assert summary.status == "COMPLETED", log.read_text()[-3000:]
    assert await task_counts(sessions, job_id) == {
        "Pending": 0,
        "Started": 0,
        "PayloadSaved": 0,
        "Enqueued": 0,
        SUCCEEDED: PAGES,
        "FailedToComplete": 0,
        "Total": PAGES,
    }
    records = await stored_records(sessions, PARTNER, dataset)
    assert len(records) == PAGES * PAGE_SIZE
    assert {record.revision for record in records.values()} == {1}, "a record was written twice"

    calls = {int(page): count for page, count in (await dataset_state(http, emulators, dataset))["calls"].items()}
    assert sorted(calls) == list(range(1, PAGES + 1))
    assert max(calls.values()) <= FETCH_PAGE.retry.maximum_attempts
    # Only a page whose request was cut off by the kill is asked for again (a saved payload is reused).
    assert len([page for page, count in calls.items() if count > 1]) <= MAX_IN_FLIGHT
    # attempts is counted before each request, so a kill in between leaves it one ahead of the calls.
    tasks = await task_rows(sessions, job_id)
    assert all(calls[page] <= row.attempts <= FETCH_PAGE.retry.maximum_attempts for page, row in tasks.items())
    assert await raw_objects(aws, resources, job_id) == []

    retried = []
    for index in range(PAGES // SLICE_PAGES):
        history = await dev_env.client.get_workflow_handle(slice_workflow_id(job_id, index)).fetch_history()
        retried += [
            e
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and e.activity_task_started_event_attributes.attempt > 1
        ]
    assert retried, "the kill should have cut off a fetch that then ran again"


async def _stored_at_least(sessions: SessionMaker, job_id: str, pages: int) -> int | None:
    stored = (await task_counts(sessions, job_id)).get(SUCCEEDED, 0)
    return stored if stored >= pages else None


async def _no_objects(aws: AwsClients, resources: Any, job_id: str) -> bool:
    return not await raw_objects(aws, resources, job_id)
