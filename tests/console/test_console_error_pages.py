"""Console errors answer as console pages, in a real Chromium: a refused form or query value is a
422 page naming the field, an unreachable Temporal or PostgreSQL a 503 page naming it (with
Retry-After). The JSON API answers the same failures with JSON, as before."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from activities.common.db import SessionMaker, create_engine, create_session_maker
from tests.console.browser import signed_in_console
from tests.console.support import OPERATOR, OPERATOR_TOKEN, console_client
from worker.devstack.processes import free_port
from worker.settings import Settings
from worker.temporal import FAIL_FAST, connect, temporal_address

pytestmark = pytest.mark.timeout(300)


async def test_a_refused_query_value_is_a_422_page_naming_the_field(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    too_long = "2026-01-01T00:00:00+00:00" + "0" * 20
    async with signed_in_console(dev_env.client, settings, sessions) as page:
        answer = await page.goto(f"/console/audit?since={too_long}")
        assert answer is not None and answer.status == 422
        assert answer.headers["content-type"].startswith("text/html")
        assert await page.inner_text("h1") == "Invalid request"
        assert "since: String should have at most 40 characters" in await page.inner_text("#problems")
        assert await page.inner_text("#operator") == OPERATOR  # the console's layout, signed in


async def test_the_json_api_still_answers_a_refused_value_with_json(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    async with console_client(dev_env.client, settings, sessions) as http:
        refused = await http.get("/decisions?limit=0", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/json"
    assert refused.json()["detail"].startswith("limit: ")


@pytest.fixture
async def unreachable(settings: Settings) -> Any:
    """Settings, a Temporal client and a session maker whose Temporal and PostgreSQL ports are closed."""
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/stepwise"
    down = settings.model_copy(
        update={
            "database_url": SecretStr(database_url),
            "temporal": settings.temporal.model_copy(update={"address": f"127.0.0.1:{free_port()}"}),
        }
    )
    client = await connect(down, retry=FAIL_FAST, lazy=True)
    engine = create_engine(database_url)
    try:
        yield down, client, create_session_maker(engine)
    finally:
        await engine.dispose()


async def test_an_unreachable_temporal_or_postgres_is_a_503_page_naming_it(unreachable: Any) -> None:
    down, client, sessions = unreachable
    async with signed_in_console(client, down, sessions) as page:  # the inbox lists from Temporal
        inbox = await page.reload()
        inbox_says = await page.inner_text("#error-message")
        audit = await page.goto("/console/audit")  # the decision log reads PostgreSQL
        audit_says = await page.inner_text("#error-message")
        assert await page.inner_text("#operator") == OPERATOR
        async with httpx.AsyncClient(base_url=page.url.split("/console/")[0]) as http:
            api = await http.get("/attention", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert inbox is not None and audit is not None
    assert (inbox.status, audit.status) == (503, 503)
    for answer in (inbox, audit):
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["retry-after"] == str(down.api.unavailable_retry_after_seconds)
    assert inbox_says == f"Temporal at {temporal_address(down)} is not reachable; retry later."
    port = down.require_database_url().rsplit(":", 1)[1].split("/")[0]
    assert audit_says == f"PostgreSQL at 127.0.0.1:{port} is not reachable; retry later."
    # The JSON API is unchanged.
    assert api.status_code == 503 and api.headers["content-type"] == "application/json"
    assert api.json()["detail"] == f"Temporal at {temporal_address(down)} is not reachable; retry later"
