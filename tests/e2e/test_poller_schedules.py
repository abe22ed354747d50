"""Poller schedules end to end on the dev server: create, list, describe, trigger a run, delete.

A partner's schedule id is ``poller-sync-<partner>``, one per partner on the whole server,
so each test registers a partner of its own (``sync-<hex>``) next to acme, and deletes
its schedule whatever happens. Listing schedules is eventually consistent: tests poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.poller.contracts import JobSummary, job_workflow_id
from tests.conftest import serving_api
from tests.support.b2b import isolated_resources
from tests.support.poller import (
    configure,
    dataset_state,
    dataset_url,
    new_dataset,
    poller_settings,
    poller_worker,
    record_count,
    stored_records,
)
from tests.support.processes import stack_env, stepwise
from tests.worker.test_poller_api import schedule_exists
from worker.services.poller import schedule_id
from worker.settings import Settings

T = TypeVar("T")


@pytest.fixture(scope="module")
def poller_resources(aws_endpoint: str) -> Resources:
    """This module's own payload queue, dead-letter queue and bucket."""
    return isolated_resources()


@pytest.fixture
def partner() -> str:
    """A partner of this test's own: its schedule id is nobody else's."""
    return f"sync_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def config(settings: Settings, poller_resources: Resources, emulators: Any, partner: str) -> Settings:
    base = f"{emulators.state.url}/partner-api/"
    return poller_settings(settings, poller_resources, emulators, partners={"acme": [base], partner: [base]})


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = 20) -> T:
    """``probe()``'s first answer that is not None, polling (the schedule list is eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        answer = await probe()
        if answer is not None:
            return answer
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        await asyncio.sleep(0.2)


async def delete_quietly(client: Client, partner: str) -> None:
    """Delete the partner's schedule and end the runs it started (no worker may be left polling)."""
    handle = client.get_schedule_handle(schedule_id(partner))
    with contextlib.suppress(RPCError):
        description = await handle.describe()
        await handle.delete()
        for action in description.info.recent_actions:
            if isinstance(action.action, ScheduleActionExecutionStartWorkflow):
                with contextlib.suppress(RPCError):
                    await client.get_workflow_handle(action.action.workflow_id).terminate("test over")


async def listed(api: httpx.AsyncClient, partner: str) -> dict[str, Any] | None:
    response = await api.get("/poller-schedules")
    assert response.status_code == 200, response.text
    assert response.json()["count"] == len(response.json()["items"])
    return next((item for item in response.json()["items"] if item["partner"] == partner), None)


async def test_a_schedule_created_through_the_api_skips_overlaps_and_its_triggered_run_stores_every_record(
    dev_env: WorkflowEnvironment,
    config: Settings,
    sessions: SessionMaker,
    poller_resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    emulators: Any,
    http: httpx.AsyncClient,
    partner: str,
) -> None:
    dataset = new_dataset()
    await configure(http, emulators, dataset, records=30, page_size=10)
    url = dataset_url(emulators, dataset)
    body = {"partner": partner, "url": url, "every": "1m"}
    client = dev_env.client
    handle = client.get_schedule_handle(schedule_id(partner))
    try:
        async with serving_api(dev_env, config, sessions) as api:
            created = await api.post("/poller-schedules", json=body)
            fetched_at_creation = await dataset_state(http, emulators, dataset)
            again = await api.post("/poller-schedules", json=body)
            item = await eventually(lambda: listed(api, partner), f"{partner}'s schedule listed")
            described = await handle.describe()

            async with poller_worker(client, config, sessions, poller_resources, aws, partner_http):
                await handle.trigger()
                runs = await eventually(
                    lambda: _recent_runs(client, partner), f"a run of {partner}'s schedule", seconds=30
                )
                summary = await asyncio.wait_for(
                    client.get_workflow_handle(runs[0], result_type=JobSummary).result(), 60
                )
            after_run = await eventually(
                lambda: _listed_with_jobs(api, partner), f"{partner}'s schedule listing its recent job"
            )
            deleted = await api.delete(f"/poller-schedules/{partner}")
            deleted_again = await api.delete(f"/poller-schedules/{partner}")
    finally:
        await delete_quietly(client, partner)

    sid = schedule_id(partner)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "schedule_id": sid,
        "partner": partner,
        "url": url,
        "every_seconds": 60,
        "next_runs": [],
        "recent_jobs": [],
        "created": True,
    }
    # Creating checks the URL with one metadata request and fetches no page.
    assert (fetched_at_creation["metadata_calls"], fetched_at_creation["calls"]) == (1, {})
    assert again.status_code == 200 and again.json()["created"] is False
    assert (item["schedule_id"], item["partner"], item["url"], item["every_seconds"]) == (sid, partner, url, 60)
    assert item["next_runs"], item
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=1)]
    assert described.schedule.action.task_queue == config.worker.task_queue  # type: ignore[attr-defined]

    assert runs[0].startswith(f"poller-sync-{partner}-"), runs
    assert summary.status == "COMPLETED"
    assert (summary.counts["SuccessfullyCompleted"], summary.counts["Total"]) == (3, 3)
    records = await stored_records(sessions, partner, dataset)
    assert len(records) == 30 == await record_count(sessions, partner, dataset)
    assert runs[0].removeprefix("poller-") in after_run["recent_jobs"]

    assert deleted.status_code == 204 and deleted.content == b""
    assert deleted_again.status_code == 404
    assert deleted_again.json() == {"detail": f"no synchronisation schedule for {partner!r}", "errors": []}
    assert not await schedule_exists(client, partner)


async def _recent_runs(client: Client, partner: str) -> list[str] | None:
    description = await client.get_schedule_handle(schedule_id(partner)).describe()
    runs = [
        a.action.workflow_id
        for a in description.info.recent_actions
        if isinstance(a.action, ScheduleActionExecutionStartWorkflow)
    ]
    return runs or None


async def _listed_with_jobs(api: httpx.AsyncClient, partner: str) -> dict[str, Any] | None:
    item = await listed(api, partner)
    return item if item is not None and item["recent_jobs"] else None


async def test_a_new_url_or_interval_replaces_the_partners_schedule(
    dev_env: WorkflowEnvironment, config: Settings, sessions: SessionMaker, emulators: Any, partner: str
) -> None:
    first, second = dataset_url(emulators, new_dataset()), dataset_url(emulators, new_dataset())
    handle = dev_env.client.get_schedule_handle(schedule_id(partner))
    try:
        async with serving_api(dev_env, config, sessions) as api:
            created = await api.post("/poller-schedules", json={"partner": partner, "url": first, "every": "1h"})
            replaced = await api.post("/poller-schedules", json={"partner": partner, "url": second, "every": "2h"})
            described = await handle.describe()
            memo = await described.memo()
    finally:
        await delete_quietly(dev_env.client, partner)

    assert (created.status_code, replaced.status_code) == (201, 200)
    assert replaced.json()["created"] is False
    assert (replaced.json()["url"], replaced.json()["every_seconds"]) == (second, 7200)
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=2)]
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert dict(memo) == {"partner": partner, "url": second, "every_seconds": 7200}


async def test_a_deleted_schedule_leaves_the_list_and_listing_just_after_a_delete_answers(
    dev_env: WorkflowEnvironment, config: Settings, sessions: SessionMaker, emulators: Any, partner: str
) -> None:
    url = dataset_url(emulators, new_dataset())
    answers: list[tuple[int, int]] = []
    try:
        async with serving_api(dev_env, config, sessions) as api:
            # The list lags behind deletions now and then (about one time in five on the dev
            # server): a few rounds make the window likely to be crossed.
            for _ in range(8):
                created = await api.post("/poller-schedules", json={"partner": partner, "url": url, "every": "1h"})
                await eventually(lambda: listed(api, partner), f"{partner}'s schedule listed")
                deleted = await api.delete(f"/poller-schedules/{partner}")
                answers.append((created.status_code, deleted.status_code))
                await eventually(lambda: _absent(api, partner), f"{partner}'s schedule gone from the list")
    finally:
        await delete_quietly(dev_env.client, partner)
    assert answers == [(201, 204)] * 8


async def _absent(api: httpx.AsyncClient, partner: str) -> bool | None:
    return True if await listed(api, partner) is None else None


async def test_a_finished_jobs_status_is_read_from_its_row(
    dev_env: WorkflowEnvironment,
    config: Settings,
    sessions: SessionMaker,
    poller_resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    dataset = new_dataset()
    await configure(http, emulators, dataset, records=20, page_size=10)
    job_id = f"done-{dataset}"
    async with serving_api(dev_env, config, sessions) as api:
        async with poller_worker(dev_env.client, config, sessions, poller_resources, aws, partner_http):
            started = await api.post(
                "/jobs", json={"url": dataset_url(emulators, dataset), "partner": "acme", "job_id": job_id}
            )
            assert started.status_code == 202, started.text
            summary = await asyncio.wait_for(
                dev_env.client.get_workflow_handle(job_workflow_id(job_id), result_type=JobSummary).result(), 60
            )
        jobs = await api.get("/jobs", params={"partner": "acme"})
        status = await api.get(f"/jobs/{job_id}")

    assert summary.status == "COMPLETED"
    assert any(item["job_id"] == job_id and item["status"] == "COMPLETED" for item in jobs.json()["items"])
    assert status.status_code == 200, status.text
    view = status.json()
    assert (view["status"], view["partner"], view["pages"], view["total_records"]) == ("COMPLETED", "acme", 2, 20)
    assert (view["SuccessfullyCompleted"], view["FailedToComplete"], view["Total"]) == (2, 0, 2)


# ----- the CLI ----------------------------------------------------------------------------


async def _cli(env: dict[str, str], *args: str) -> Any:
    return await asyncio.to_thread(stepwise, "poller", "schedule", *args, env=env)


def _env(dev_env: WorkflowEnvironment, config: Settings) -> dict[str, str]:
    return stack_env(
        dev_env,
        config,
        STEPWISE_POLLER__PARTNERS=json.dumps(config.poller.partners),
        STEPWISE_POLLER__ALLOW_PRIVATE_NETWORKS="true",
        STEPWISE_POLLER__RETENTION_SCHEDULE="false",
    )


async def _cli_listed(env: dict[str, str], partner: str) -> dict[str, Any] | None:
    result = await _cli(env, "list", "--json")
    assert result.returncode == 0, result.stderr
    return next((item for item in json.loads(result.stdout) if item["partner"] == partner), None)


async def test_the_cli_creates_lists_replaces_and_deletes_a_schedule(
    dev_env: WorkflowEnvironment, config: Settings, emulators: Any, partner: str
) -> None:
    env = _env(dev_env, config)
    url = dataset_url(emulators, new_dataset())
    sid = schedule_id(partner)
    try:
        created = await _cli(env, "create", "--partner", partner, "--url", url, "--every", "1m")
        item = await eventually(lambda: _cli_listed(env, partner), f"{partner} in `schedule list --json`")
        plain = await _cli(env, "list")
        replaced = await _cli(env, "create", "--partner", partner, "--url", url, "--every", "3h")
        described = await dev_env.client.get_schedule_handle(sid).describe()
        deleted = await _cli(env, "delete", "--partner", partner)
        deleted_again = await _cli(env, "delete", "--partner", partner)
    finally:
        await delete_quietly(dev_env.client, partner)

    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"schedule {sid} created: {url} every 60s"
    assert (item["schedule_id"], item["url"], item["every_seconds"]) == (sid, url, 60)
    assert plain.returncode == 0, plain.stderr
    line = next(line for line in plain.stdout.splitlines() if line.startswith(partner))
    assert "every      60s" in line and line.endswith(url), line
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.strip() == f"schedule {sid} replaced: {url} every 10800s"
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=3)]
    assert (deleted.returncode, deleted.stdout.strip()) == (0, f"schedule {sid} deleted")
    assert deleted_again.returncode == 1
    assert deleted_again.stderr.strip() == f"stepwise: no synchronisation schedule for {partner!r}"


@pytest.mark.parametrize(
    ("every", "line"),
    [
        ("10x", "stepwise: --every: must be a number and a unit: 30m, 1h, 1d"),
        ("30s", "stepwise: --every: must be from 1m to 31d"),
        ("32d", "stepwise: --every: must be from 1m to 31d"),
    ],
)
async def test_a_bad_interval_is_one_line_naming_every_and_creates_nothing(
    dev_env: WorkflowEnvironment,
    config: Settings,
    emulators: Any,
    http: httpx.AsyncClient,
    partner: str,
    every: str,
    line: str,
) -> None:
    dataset = new_dataset()
    result = await _cli(
        _env(dev_env, config),
        "create",
        "--partner",
        partner,
        "--url",
        dataset_url(emulators, dataset),
        "--every",
        every,
    )
    assert result.returncode == 2  # refused, nothing created
    assert result.stderr.strip() == line
    assert result.stdout == ""
    assert not await schedule_exists(dev_env.client, partner)
    state = await dataset_state(http, emulators, dataset)
    assert (state["metadata_calls"], state["calls"]) == (0, {})


async def test_an_unregistered_partner_is_one_line_naming_partner_and_creates_nothing(
    dev_env: WorkflowEnvironment, config: Settings, emulators: Any
) -> None:
    stranger = f"stranger_{uuid.uuid4().hex[:8]}"
    url = dataset_url(emulators, new_dataset())
    result = await _cli(_env(dev_env, config), "create", "--partner", stranger, "--url", url, "--every", "1h")
    assert result.returncode == 2  # refused, nothing created
    assert result.stderr.strip() == f"stepwise: --partner: {stranger!r} is not a registered partner of the poller"
    assert not await schedule_exists(dev_env.client, stranger)


async def test_a_refused_url_is_one_line_naming_the_url_option_and_creates_nothing(
    dev_env: WorkflowEnvironment, config: Settings, emulators: Any, http: httpx.AsyncClient, partner: str
) -> None:
    dataset = new_dataset()
    url = dataset_url(emulators, dataset).replace("127.0.0.1", "localhost")  # the same server, unregistered
    result = await _cli(_env(dev_env, config), "create", "--partner", partner, "--url", url, "--every", "1h")
    assert result.returncode == 2  # refused, nothing created
    assert not await schedule_exists(dev_env.client, partner)
    state = await dataset_state(http, emulators, dataset)
    assert (state["metadata_calls"], state["calls"]) == (0, {})
    message = f"not under a base URL registered for partner {partner!r}"
    assert result.stderr.strip() == f"stepwise: --url: {message}"
