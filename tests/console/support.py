"""Driving the console over HTTP in-process: an app with named operators, signing in, forms."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle

from activities.common.db import SessionMaker
from tests.support.step_control import wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput
from worker.api.app import ApiServices, create_app
from worker.settings import Settings, hash_token

OPERATOR, OPERATOR_TOKEN = "ops-anna", "anna-token"
OTHER_OPERATOR, OTHER_TOKEN = "ops-ben", "ben-token"
PARTNER, PARTNER_TOKEN = "acme", "acme-token"
SESSION_SECRET = "console-test-secret"


def console_settings(settings: Settings, **api: object) -> Settings:
    """``settings`` with two named operators, one partner and a fixed session secret."""
    return settings.model_copy(
        update={
            "api": settings.api.model_copy(
                update={
                    "operators": {OPERATOR: hash_token(OPERATOR_TOKEN), OTHER_OPERATOR: hash_token(OTHER_TOKEN)},
                    "partner_token_hashes": {PARTNER: hash_token(PARTNER_TOKEN)},
                    "session_secret": SecretStr(SESSION_SECRET),
                    **api,
                }
            )
        }
    )


@asynccontextmanager
async def console_client(
    client: Client, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the whole API app (console included), served in-process over https."""
    app = create_app(console_settings(settings), ApiServices(client, sessions, settings.worker.task_queue))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://console.test") as http:
        yield http


def hidden(html: str, name: str) -> str:
    """The value of the first hidden input called ``name``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, token: str = OPERATOR_TOKEN) -> httpx.Response:
    """Fill in and post the sign-in form (with its CSRF token); the response is not followed."""
    form = await http.get("/console/login")
    return await http.post("/console/login", data={"token": token, "csrf": hidden(form.text, "csrf"), "next": ""})


async def csrf_of(http: httpx.AsyncClient) -> str:
    """The signed-in session's CSRF token, as the pages embed it."""
    page = await http.get("/console/inbox")
    assert page.status_code == 200, page.text[:300]
    return hidden(page.text, "csrf")


async def park_probe(client: Client, task_queue: str, probe: ProbeActivities) -> tuple[WorkflowHandle[Any, Any], str]:
    """A probe execution parked at a step of its own name (a filter on it matches nothing else)."""
    step = f"check-{uuid.uuid4().hex[:8]}"
    probe.armed.add(step)
    handle = await start_probe(client, task_queue, ProbeInput(steps=[step, "after"]))
    await wait_waiting(handle, step)
    return handle, step
