"""The console's routes and identities `test_console_access` leaves out, judged by the world.

The reconciliation page and the campaign form need a session (a bearer token is none); every
form refuses a signed-in post without its session's CSRF token and does nothing (the same post
with it does what it says); a session whose operator was removed from the settings no longer
counts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media.keys import media_workflow_id
from activities.models.recon import ReconRun
from activities.recon.contracts import CampaignInput
from tests.console.support import (
    OPERATOR,
    OPERATOR_TOKEN,
    OTHER_OPERATOR,
    OTHER_TOKEN,
    PARTNER_TOKEN,
    console_client,
    console_settings,
    csrf_of,
    hidden,
    park_probe,
    sign_in,
)
from tests.support.media import media_request
from tests.support.step_control import audits, wait_waiting
from tests.worker.test_api_authorization import _exists
from tests.workflows.common.step_probe import ProbeActivities
from worker.api.app import ApiServices, create_app
from worker.console.session import COOKIE
from worker.services.dead_letters import peek
from worker.services.recon_runs import campaign_id
from worker.settings import Settings, hash_token

BEARERS = {
    "no token": {},
    "operator bearer": {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    "partner bearer": {"Authorization": f"Bearer {PARTNER_TOKEN}"},
}
"""Callers without a console session: a bearer token, even an operator's, is not one."""


@pytest.fixture
async def http(dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker) -> AsyncIterator[Any]:
    async with console_client(dev_env.client, settings, sessions) as client:
        yield client


def _campaign_form(campaign: str, clients: str = "") -> dict[str, str]:
    return {
        "campaign": campaign,
        "clients": clients or f"{campaign}-a\n{campaign}-b",
        "baseline": "v1",
        "candidate": "v2",
    }


async def _end(env: WorkflowEnvironment, workflow_id: str) -> None:
    """Terminate ``workflow_id`` if it runs (no worker polls this test's queue)."""
    if await _exists(env, workflow_id):
        handle = env.client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")


# ----- the reconciliation page and the campaign form -----------------------------------------------


@pytest.mark.parametrize("who", BEARERS)
async def test_the_reconciliation_page_sends_anyone_without_a_session_to_sign_in(
    http: httpx.AsyncClient, who: str
) -> None:
    response = await http.get("/console/reconciliations?client_id=acme", headers=BEARERS[who])
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Freconciliations%3Fclient_id%3Dacme"


@pytest.mark.parametrize("who", BEARERS)
async def test_the_campaign_form_without_a_session_starts_nothing(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment, who: str
) -> None:
    campaign = f"anon-{uuid.uuid4().hex[:8]}"
    response = await http.post(
        "/console/campaigns", data={**_campaign_form(campaign), "csrf": "anything"}, headers=BEARERS[who]
    )
    assert (response.status_code, response.headers["location"]) == (303, "/console/login")
    assert not await _exists(dev_env, campaign_id(campaign))


async def test_a_signed_in_operator_sees_the_runs_and_is_told_of_a_missing_campaign(
    http: httpx.AsyncClient, sessions: SessionMaker
) -> None:
    client_id = f"page-{uuid.uuid4().hex[:8]}"
    run_id = f"recon-{client_id}-r1"
    async with sessions.begin() as session:
        session.add(ReconRun(run_id=run_id, client_id=client_id, baseline="v1", candidate="v2", status="APPROVED"))
    try:
        await sign_in(http)
        listed = await http.get("/console/reconciliations", params={"client_id": client_id})
        missing = await http.get("/console/reconciliations", params={"campaign": f"none-{client_id}"})
    finally:
        async with sessions.begin() as session:
            await session.execute(delete(ReconRun).where(ReconRun.run_id == run_id))

    assert listed.status_code == 200
    assert f">{run_id}</a>" in listed.text and "APPROVED" in listed.text
    assert f'<span id="operator">{OPERATOR}</span>' in listed.text
    assert missing.status_code == 404 and f"no campaign &#39;none-{client_id}&#39;" in missing.text


async def test_a_campaign_form_without_its_csrf_token_starts_nothing_and_with_it_starts_the_campaign(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    campaign = f"form-{uuid.uuid4().hex[:8]}"
    form = _campaign_form(campaign)
    await sign_in(http)
    try:
        for csrf in (None, "", "wrong"):
            data = form if csrf is None else {**form, "csrf": csrf}
            refused = await http.post("/console/campaigns", data=data)
            assert refused.status_code == 403 and "CSRF" in refused.text
        assert not await _exists(dev_env, campaign_id(campaign))
        invalid = await http.post(
            "/console/campaigns", data={**_campaign_form(campaign, "Not A Client"), "csrf": await csrf_of(http)}
        )
        assert invalid.status_code == 422 and 'id="recon-error"' in invalid.text
        assert not await _exists(dev_env, campaign_id(campaign))

        started = await http.post("/console/campaigns", data={**form, "csrf": await csrf_of(http)})
        assert (started.status_code, started.headers["location"]) == (
            303,
            f"/console/reconciliations?campaign={campaign}",
        )
        handle = dev_env.client.get_workflow_handle(campaign_id(campaign))
        history = await handle.fetch_history()
        first = history.events[0].workflow_execution_started_event_attributes
        [request] = await dev_env.client.data_converter.decode(first.input.payloads, [CampaignInput])
        # No worker polls this test's queue: end the campaign before reading its page.
        await handle.terminate("test over")
        shown = await http.get(started.headers["location"])
    finally:
        await _end(dev_env, campaign_id(campaign))

    assert first.workflow_type.name == "ReconciliationCampaignWorkflow"
    assert request.campaign == campaign and request.max_parallel == 10
    assert [(run.client_id, run.baseline, run.candidate) for run in request.runs] == [
        (f"{campaign}-a", "v1", "v2"),
        (f"{campaign}-b", "v1", "v2"),
    ]
    assert shown.status_code == 200 and f"Campaign {campaign} · TERMINATED" in shown.text


# ----- CSRF on the other forms, signed in --------------------------------------------------------------


async def test_a_bulk_decision_without_its_csrf_token_decides_nothing(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sessions: SessionMaker,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    handle, step = await park_probe(dev_env.client, task_queue, probe)
    await sign_in(http)
    form = {"step": step, "action": "skip", "reason": "not needed", "expected_count": "1"}
    for csrf in (None, "", "wrong"):
        data = form if csrf is None else {**form, "csrf": csrf}
        refused = await http.post("/console/bulk", data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    await wait_waiting(handle, step)  # still waiting: nothing reached the workflow
    assert await audits(sessions, handle.id) == []

    for _ in range(50):  # visibility lists the park a moment after it happens
        if '<span id="bulk-count">1</span>' in (await http.get("/console/bulk", params={"step": step})).text:
            break
        await asyncio.sleep(0.2)
    decided = await http.post("/console/bulk", data={**form, "csrf": await csrf_of(http)})
    assert decided.status_code == 200 and '<span id="bulk-accepted">1</span>' in decided.text, decided.text[-2000:]
    await handle.result()
    assert [(a.step, a.action, a.operator) for a in await audits(sessions, handle.id)] == [(step, "skip", OPERATOR)]


async def test_sign_out_without_its_csrf_token_keeps_the_session(http: httpx.AsyncClient) -> None:
    await sign_in(http)
    for csrf in (None, "", "wrong"):
        refused = await http.post("/console/logout", data={} if csrf is None else {"csrf": csrf})
        assert refused.status_code == 403 and "CSRF" in refused.text
        assert not [c for c in refused.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
        assert COOKIE in http.cookies
        assert (await http.get("/console/inbox")).status_code == 200  # still signed in

    signed_out = await http.post("/console/logout", data={"csrf": await csrf_of(http)})
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/console/login")
    assert COOKIE not in http.cookies
    assert (await http.get("/console/inbox")).status_code == 303


async def _media_dead_letter(aws: AwsClients, resources: Resources) -> tuple[str, str]:
    """A redrivable media failure story in the media dead-letter queue: (message id, workflow id)."""
    request = media_request(f"s3://{resources.media_bucket}/tests/{uuid.uuid4().hex}/talk.wav")
    workflow_id = media_workflow_id(request.job_id)
    story = {
        "event": "media.failed",
        "workflow_id": workflow_id,
        **dataclasses.asdict(request),
        "failed_step": "translate",
        "error_type": "TranslateUnavailable",
        "reason": "Translate is unavailable",
    }
    url = await aws.queue_url(resources.media_dlq)
    sent = await aws.call("sqs", "send_message", QueueUrl=url, MessageBody=json.dumps(story))
    return sent["MessageId"], workflow_id


async def test_a_redrive_without_its_csrf_token_starts_nothing_and_keeps_the_dead_letter(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
) -> None:
    message_id, workflow_id = await _media_dead_letter(aws, resources)
    path = f"/console/dead-letters/media/{message_id}/redrive"
    await sign_in(http)
    try:
        for csrf in (None, "", "wrong"):
            refused = await http.post(path, data={} if csrf is None else {"csrf": csrf})
            assert refused.status_code == 403 and "CSRF" in refused.text
        kept = [m.message_id for m in await peek(aws, resources, "media")]
        started_when_refused = await _exists(dev_env, workflow_id)
        audited_when_refused = await audits(sessions, workflow_id)

        redriven = await http.post(path, data={"csrf": await csrf_of(http)})
        started = await _exists(dev_env, workflow_id)
        left = [m.message_id for m in await peek(aws, resources, "media")]
    finally:
        await _end(dev_env, workflow_id)

    assert message_id in kept and not started_when_refused and audited_when_refused == []
    assert redriven.status_code == 303 and redriven.headers["location"].startswith(
        "/console/dead-letters?pipeline=media"
    )
    assert started and message_id not in left
    assert [(a.action, a.operator, a.via) for a in await audits(sessions, workflow_id)] == [
        ("redrive", OPERATOR, "console")
    ]


# ----- an operator removed from the settings ---------------------------------------------------------------------


@asynccontextmanager
async def _console_without_the_other_operator(
    client: Client, settings: Settings, sessions: SessionMaker, operators: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The console as it runs once OTHER_OPERATOR is removed from the settings (same session secret),
    or with ``operators`` as they are configured then."""
    configured = console_settings(settings, operators=operators or {OPERATOR: hash_token(OPERATOR_TOKEN)})
    app = create_app(configured, ApiServices(client, sessions, settings.worker.task_queue))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console.test") as http:
        yield http


async def test_a_removed_operators_session_no_longer_counts_and_does_nothing(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    task_queue: str,
    sessions: SessionMaker,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    handle, step = await park_probe(dev_env.client, task_queue, probe)
    signed_in = await sign_in(http, OTHER_TOKEN)
    assert signed_in.status_code == 303
    csrf = await csrf_of(http)  # the session is valid while the operator is configured
    campaign = f"gone-{uuid.uuid4().hex[:8]}"
    async with _console_without_the_other_operator(dev_env.client, settings, sessions) as removed:
        removed.cookies = httpx.Cookies(http.cookies)
        inbox = await removed.get("/console/inbox")
        sign_in_page = await removed.get(inbox.headers["location"])
        decided = await removed.post(
            f"/console/decide/{handle.id}", data={"csrf": csrf, "step": step, "action": "skip", "reason": "r"}
        )
        started = await removed.post("/console/campaigns", data={**_campaign_form(campaign), "csrf": csrf})
        # The operator still configured signs in there as before.
        await sign_in(removed, OPERATOR_TOKEN)
        still_works = await removed.get("/console/inbox")

    assert (inbox.status_code, inbox.headers["location"]) == (303, "/console/login?next=%2Fconsole%2Finbox")
    assert sign_in_page.status_code == 200 and hidden(sign_in_page.text, "csrf")
    assert OTHER_OPERATOR not in sign_in_page.text
    assert [(r.status_code, r.headers["location"]) for r in (decided, started)] == [(303, "/console/login")] * 2
    await wait_waiting(handle, step)  # nothing reached the workflow
    assert await audits(sessions, handle.id) == []
    assert not await _exists(dev_env, campaign_id(campaign))
    assert still_works.status_code == 200 and f'<span id="operator">{OPERATOR}</span>' in still_works.text
    await handle.terminate("test over")


async def test_a_session_signed_in_with_a_token_since_rotated_no_longer_counts(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    assert (await sign_in(http, OTHER_TOKEN)).status_code == 303
    rotated = {OPERATOR: hash_token(OPERATOR_TOKEN), OTHER_OPERATOR: hash_token("ben-new-token")}
    async with _console_without_the_other_operator(dev_env.client, settings, sessions, rotated) as after_rotation:
        after_rotation.cookies = httpx.Cookies(http.cookies)
        old_session = await after_rotation.get("/console/inbox")
        assert (await sign_in(after_rotation, "ben-new-token")).status_code == 303
        new_session = await after_rotation.get("/console/inbox")
    assert (old_session.status_code, old_session.headers["location"]) == (303, "/console/login?next=%2Fconsole%2Finbox")
    assert new_session.status_code == 200 and f'<span id="operator">{OTHER_OPERATOR}</span>' in new_session.text
