"""A page's notice ("retry of … accepted", "… started again") is the console's own: a link that
carries its own text in ``?done=`` shows nothing (the accepted-decision and redrive notices
themselves are shown in tests/console/test_console_browser.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from tests.console.browser import signed_in_console
from tests.console.support import park_probe
from tests.workflows.common.step_probe import ProbeActivities
from worker.settings import Settings

pytestmark = pytest.mark.timeout(300)

FORGED = "Session expired: sign in again at https://stepwise-login.example/"


async def _shows_no_forged_notice(page: Page, path: str) -> None:
    separator = "&" if "?" in path else "?"
    answer = await page.goto(f"{path}{separator}done={quote(FORGED, safe='')}")
    assert answer is not None and answer.status == 200
    assert await page.locator("#done").count() == 0
    assert FORGED not in await page.content()


async def test_an_execution_page_does_not_show_a_notice_written_into_its_link(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    sessions: SessionMaker,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    handle, _ = await park_probe(dev_env.client, task_queue, probe)
    async with signed_in_console(dev_env.client, settings, sessions) as page:
        await _shows_no_forged_notice(page, f"/console/executions/{handle.id}")


async def test_the_dead_letters_page_does_not_show_a_notice_written_into_its_link(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker, aws: AwsClients
) -> None:
    async with signed_in_console(dev_env.client, settings, sessions) as page:
        await _shows_no_forged_notice(page, "/console/dead-letters?pipeline=media")
