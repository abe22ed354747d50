"""A refused decision is said on the execution page, in a real Chromium: two operators with the
same page open, the first decides, and the second's stale skip or retry is refused (409) with
the reason, though the step has no decision form any more."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.db import SessionMaker
from tests.console.browser import chromium, served_console, signed_in_page
from tests.console.support import OPERATOR, park_probe
from tests.support.step_control import audits
from tests.workflows.common.step_probe import ProbeActivities
from worker.settings import Settings

pytestmark = pytest.mark.timeout(300)


async def _execution_page(browser: Browser, base_url: str, workflow_id: str, step: str) -> Page:
    page = await signed_in_page(browser, base_url)
    await page.goto(f"/console/executions/{workflow_id}")
    await page.locator(f"section.waiting[data-step='{step}']").wait_for()
    return page


async def _decide(page: Page, step: str, action: str, reason: str) -> int:
    """Fill in and send one of the step's decision forms; the status of the page that answers."""
    form = page.locator(f"section.waiting[data-step='{step}'] form.decision-{action}")
    await form.locator("input[name=reason]").fill(reason)
    async with page.expect_navigation() as navigation:
        await form.locator("button").click()
    answer = await navigation.value
    assert answer is not None
    return answer.status


async def test_stale_skip_and_retry_after_another_operators_abort_say_why_they_were_refused(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    sessions: SessionMaker,
    probe: ProbeActivities,
    probe_worker: Worker,
) -> None:
    handle, step = await park_probe(dev_env.client, task_queue, probe)
    async with served_console(dev_env.client, settings, sessions) as base_url, chromium() as browser:
        first = await _execution_page(browser, base_url, handle.id, step)
        stale_skip = await _execution_page(browser, base_url, handle.id, step)
        stale_retry = await _execution_page(browser, base_url, handle.id, step)

        assert await _decide(first, step, "abort", "customer withdrew") == 200  # after the redirect
        assert f"abort of {step} by {OPERATOR} accepted" in await first.inner_text("#done")

        assert await _decide(stale_skip, step, "skip", "use a default") == 409
        refused = await stale_skip.inner_text("#refused")
        assert f"Your skip of {step} was refused: step {step} is not waiting for a decision" in refused

        assert await _decide(stale_retry, step, "retry", "try again") == 409
        refused = await stale_retry.inner_text("#refused")
        # The workflow's own reason, or Temporal's once the aborted execution has closed.
        assert f"Your retry of {step} was refused: " in refused
        assert f"step '{step}' is not waiting for a decision (it is aborted)" in refused or (
            f"no running execution '{handle.id}'" in refused
        ), refused
        assert await stale_retry.locator(f"section.waiting[data-step='{step}']").count() == 0
    assert [(a.action, a.reason) for a in await audits(sessions, handle.id)] == [("abort", "customer withdrew")]
