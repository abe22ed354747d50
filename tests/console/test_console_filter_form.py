"""The inbox's and the bulk page's filter in a real Chromium: an empty "Waiting at least (min)"
means no age filter, and an age that is not a number of minutes from 0 is refused on the page."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.db import SessionMaker
from tests.console.browser import signed_in_console
from tests.console.support import park_probe
from tests.support.step_control import audits, wait_waiting
from tests.workflows.common.step_probe import ProbeActivities
from worker.settings import Settings

pytestmark = pytest.mark.timeout(300)


async def _filter_inbox_by_step(page: Page, step: str) -> int:
    """Type the step into the inbox's filter, leave the age empty and press Filter; the answer's status."""
    for _ in range(50):  # visibility shows the park a moment after it happens
        await page.goto("/console/inbox")
        await page.fill("form.filters input[name=step]", step)
        assert await page.input_value("form.filters input[name=min_age_minutes]") == ""
        async with page.expect_navigation() as navigation:
            await page.click("form.filters button")
        answer = await navigation.value
        assert answer is not None
        if answer.status != 200 or await page.locator("#inbox tbody tr").count():
            return answer.status
        await asyncio.sleep(0.2)
    return answer.status


async def test_filtering_with_the_age_left_empty_lists_the_match_and_leads_to_its_bulk_decision(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    sessions: SessionMaker,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    handle, step = await park_probe(dev_env.client, task_queue, probe)
    async with signed_in_console(dev_env.client, settings, sessions) as page:
        assert await _filter_inbox_by_step(page, step) == 200
        assert "min_age_minutes=&" in page.url or page.url.endswith("min_age_minutes=")
        rows = page.locator("#inbox tbody tr")
        assert await rows.count() == 1 and handle.id in await rows.inner_text()

        async with page.expect_navigation() as navigation:
            await page.click("text=Decide for all of these…")
        assert (answer := await navigation.value) is not None and answer.status == 200
        assert await page.inner_text("#bulk-count") == "1"
        assert handle.id in await page.inner_text("#bulk-matches")
        assert await page.input_value("#bulk-form input[name=min_age_minutes]") == ""

        await page.select_option("#bulk-form select[name=action]", "abort")
        await page.fill("#bulk-form input[name=reason]", "not needed")
        async with page.expect_navigation() as navigation:
            await page.click("#bulk-form button")
        assert (answer := await navigation.value) is not None and answer.status == 200
        assert await page.inner_text("#bulk-accepted") == "1"
    assert [(a.action, a.step) for a in await audits(sessions, handle.id)] == [("abort", step)]


async def test_an_age_that_is_not_minutes_from_zero_is_refused_on_the_page_and_nothing_is_decided(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    sessions: SessionMaker,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    handle, step = await park_probe(dev_env.client, task_queue, probe)
    async with signed_in_console(dev_env.client, settings, sessions) as page:
        # Chromium will not submit such a number field, but a link or an edited address can.
        for age in ("-1", "nan", "inf", "-inf", "1e400", "soon"):
            for where in ("inbox", "bulk"):
                answer = await page.goto(f"/console/{where}?step={step}&min_age_minutes={age}")
                assert answer is not None and answer.status == 422, (where, age)
                assert answer.headers["content-type"].startswith("text/html"), (where, age)
                refusal = await page.inner_text("#filter-error")
                assert f"'{age}' is not a number of minutes from 0" in refusal, (where, refusal)
                assert await page.input_value("form.filters input[name=step]") == step
                assert await page.locator("#inbox tbody tr, #bulk-matches tbody tr, #bulk-form").count() == 0

        # A bulk form posted with such an age decides nothing.
        for _ in range(50):
            await page.goto(f"/console/bulk?step={step}")
            if await page.locator("#bulk-form").count():
                break
            await asyncio.sleep(0.2)
        await page.locator("#bulk-form input[name=min_age_minutes]").evaluate("input => input.value = '-1'")
        await page.select_option("#bulk-form select[name=action]", "abort")
        await page.fill("#bulk-form input[name=reason]", "never sent")
        async with page.expect_navigation() as navigation:
            await page.click("#bulk-form button")
        assert (answer := await navigation.value) is not None and answer.status == 422
        assert "Nothing was decided" in await page.inner_text("#bulk-error")
        assert "'-1' is not a number of minutes" in await page.inner_text("#filter-error")
    await wait_waiting(handle, step)
    assert await audits(sessions, handle.id) == []
