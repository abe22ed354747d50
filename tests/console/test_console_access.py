"""Who may use the console, and that its forms refuse what they must, judged by the world:
whether a decision reached the workflow (it still waits or not) and what the audit holds."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.db import SessionMaker
from tests.console.support import (
    OPERATOR,
    OPERATOR_TOKEN,
    PARTNER_TOKEN,
    SESSION_SECRET,
    console_client,
    csrf_of,
    sign_in,
)
from tests.support.step_control import audits, wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput
from worker.console.session import COOKIE, token_mark
from worker.settings import Settings, hash_token

ANNA = token_mark(hash_token(OPERATOR_TOKEN))
"""The token fingerprint a session of OPERATOR carries."""
PAGES = ["/console/inbox", "/console/bulk", "/console/audit", "/console/dead-letters", "/console/executions/x"]
FORMS = ["/console/decide/x", "/console/bulk", "/console/logout", "/console/dead-letters/media/m-1/redrive"]


@pytest.fixture
async def http(dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker) -> Any:
    async with console_client(dev_env.client, settings, sessions) as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_sends_a_stranger_to_sign_in(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=")


@pytest.mark.parametrize("path", FORMS)
async def test_every_form_refuses_a_post_without_a_session(http: httpx.AsyncClient, path: str) -> None:
    response = await http.post(path, data={"csrf": "anything", "step": "s", "action": "retry"})
    assert (response.status_code, response.headers["location"]) == (303, "/console/login")


async def test_an_operator_signs_in_with_a_strict_http_only_expiring_cookie(http: httpx.AsyncClient) -> None:
    signed_in = await sign_in(http)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console/inbox")
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/console" in cookie.lower()
    inbox = await http.get("/console/inbox")
    assert inbox.status_code == 200 and f'<span id="operator">{OPERATOR}</span>' in inbox.text
    assert inbox.headers["content-security-policy"].startswith("default-src 'self'")
    assert inbox.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(("token", "message"), [(PARTNER_TOKEN, "does not belong to an operator"), ("x", "Unknown")])
async def test_a_partner_or_unknown_token_cannot_sign_in(http: httpx.AsyncClient, token: str, message: str) -> None:
    refused = await sign_in(http, token)
    assert refused.status_code == 401 and message in refused.text
    assert COOKIE not in http.cookies
    assert (await http.get("/console/inbox")).status_code == 303


async def test_sign_in_without_its_csrf_token_is_refused(http: httpx.AsyncClient) -> None:
    await http.get("/console/login")
    refused = await http.post("/console/login", data={"token": "anna-token", "csrf": "forged"})
    assert refused.status_code == 403 and COOKIE not in http.cookies


async def test_an_expired_session_is_sent_back_to_sign_in(http: httpx.AsyncClient, settings: Settings) -> None:
    serializer = URLSafeTimedSerializer(SESSION_SECRET, salt="stepwise-console")
    nine_hours_ago = time.time() - 9 * 3600  # sessions last 8 hours by default
    with mock.patch("itsdangerous.timed.time.time", return_value=nine_hours_ago):
        stale = serializer.dumps({"operator": OPERATOR, "csrf": "c", "mark": ANNA})
    http.cookies.set(COOKIE, stale, domain="console.test", path="/console")
    assert (await http.get("/console/inbox")).status_code == 303
    fresh = serializer.dumps({"operator": OPERATOR, "csrf": "c", "mark": ANNA})
    http.cookies.set(COOKIE, fresh, domain="console.test", path="/console")
    assert (await http.get("/console/inbox")).status_code == 200


async def test_a_forged_cookie_is_no_session(http: httpx.AsyncClient) -> None:
    forged = URLSafeTimedSerializer("not-the-secret", salt="stepwise-console").dumps(
        {"operator": OPERATOR, "csrf": "c"}
    )
    http.cookies.set(COOKIE, forged, domain="console.test", path="/console")
    assert (await http.get("/console/inbox")).status_code == 303


async def test_a_decision_without_its_csrf_token_is_not_sent(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    task_queue: str,
    probe: ProbeActivities,
    probe_worker: Worker,
    sessions: SessionMaker,
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["b"]))
    await wait_waiting(handle, "b")
    await sign_in(http)
    form = {"step": "b", "action": "skip", "reason": "r"}
    for csrf in (None, "wrong"):
        data = form if csrf is None else {**form, "csrf": csrf}
        refused = await http.post(f"/console/decide/{handle.id}", data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    await wait_waiting(handle, "b")  # still waiting: nothing reached the workflow
    assert await audits(sessions, handle.id) == []
    sent = await http.post(f"/console/decide/{handle.id}", data={**form, "csrf": await csrf_of(http)})
    assert sent.status_code == 303
    await handle.result()
    assert [(a.step, a.action, a.operator) for a in await audits(sessions, handle.id)] == [("b", "skip", OPERATOR)]


async def test_an_error_message_with_markup_is_shown_as_text(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    task_queue: str,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    step = "x<script>alert(1)</script>"
    probe.armed.add(step)
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=[step]))
    await wait_waiting(handle, step)
    await sign_in(http)
    page = await http.get(f"/console/executions/{handle.id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "injected fault in x&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    await handle.terminate("test over")


async def test_the_sign_in_forms_csrf_cookie_is_strict_http_only_and_secure_over_https(http: httpx.AsyncClient) -> None:
    form = await http.get("/console/login")
    cookie = next(c for c in form.headers.get_list("set-cookie") if c.startswith("stepwise_login="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/console" in cookie.lower()
