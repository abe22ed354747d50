"""A gate with a typed form in the console, in a real Chromium: the reviewer sees each field with
its extracted value, confidence, source and reason, corrects one and approves; the workflow gets
the answers and the audit row holds them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.contracts import FormField, ReviewForm
from activities.common.db import SessionMaker
from activities.common.decision_log import DecisionLog
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.step_control import StepControlActivities
from tests.console.browser import chromium, screenshot_dir, served_console, signed_in_page
from tests.console.support import OPERATOR
from tests.support.step_control import audits, wait_waiting
from tests.workflows.common.form_probe import FormProbeInput, FormProbeWorkflow
from worker.settings import Settings

pytestmark = pytest.mark.timeout(300)

FORM = ReviewForm(
    fields=[
        FormField(
            name="billing_company",
            label="Billing company",
            value="Northwind Traders",
            confidence=0.941,
            source='entity ORGANIZATION #1 "Northwind Traders"',
            reason="confidence 0.941 below 0.95",
        ),
        FormField(
            name="total",
            label="Total",
            kind="amount",
            value="12480.00",
            confidence=0.93,
            source='form key "Total" (page 1)',
            reason="confidence 0.930 below 0.95",
        ),
    ],
    context="invoice.pdf of SHP-DEMO-1",
)


@pytest.fixture
async def form_worker(
    dev_env: WorkflowEnvironment, task_queue: str, aws: AwsClients, sessions: SessionMaker, resources: Resources
) -> AsyncIterator[Worker]:
    control = StepControlActivities(DecisionLog(sessions), Notifier(aws, sessions), resources)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[FormProbeWorkflow],
        activities=[control.record_decision, control.notify],
    ) as worker:
        yield worker


async def test_a_reviewer_corrects_a_low_confidence_field_and_approves(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    sessions: SessionMaker,
    form_worker: Worker,
    tmp_path: Path,
) -> None:
    handle = await dev_env.client.start_workflow(
        FormProbeWorkflow.run,
        FormProbeInput(form=FORM, audience="reviewers"),
        id=f"shipment-form-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    await wait_waiting(handle, "review")
    async with served_console(dev_env.client, settings, sessions) as base_url, chromium() as browser:
        page = await signed_in_page(browser, base_url)
        await page.goto(f"/console/executions/{handle.id}")
        section = page.locator("section.waiting[data-step=review]")
        assert "invoice.pdf of SHP-DEMO-1" in await section.inner_text()
        row = section.locator("tr[data-field=billing_company]")
        assert "Billing company" in await row.inner_text()
        assert await row.locator(".confidence").inner_text() == "0.941"
        assert 'entity ORGANIZATION #1 "Northwind Traders"' in await row.locator(".source").inner_text()
        assert "below 0.95" in await row.locator(".reason").inner_text()
        billing = row.locator("input")
        assert await billing.input_value() == "Northwind Traders"
        total = section.locator("tr[data-field=total] input")
        assert await total.input_value() == "12480.00"

        # An invalid answer: the page says which field and why; nothing reaches the workflow.
        await billing.fill("Northwind Traders Ltd")
        await total.fill("12,480.00")
        await section.locator("form.review-form button[value=approve]").click()
        error = page.locator("p.field-error[data-field='answer:total']")
        await error.wait_for()
        assert "thousands separators" in await error.inner_text()
        assert await audits(sessions, handle.id) == []
        # What the reviewer typed is kept; correct the amount and approve.
        section = page.locator("section.waiting[data-step=review]")
        assert await section.locator("tr[data-field=billing_company] input").input_value() == "Northwind Traders Ltd"
        await section.locator("tr[data-field=total] input").fill("12480.00")
        await page.screenshot(path=str(screenshot_dir(tmp_path) / "console-form-gate.png"), full_page=False)
        await section.locator("form.review-form button[value=approve]").click()
        await page.locator("#done").wait_for()
        assert "approve of review by" in await page.locator("#done").inner_text()

    result = await handle.result()
    assert result.approved is True and result.operator == OPERATOR
    assert result.answers == {"billing_company": "Northwind Traders Ltd", "total": "12480.00"}
    rows = await audits(sessions, handle.id)
    assert [(r.action, r.operator, r.outcome, r.answers) for r in rows] == [
        ("approve", OPERATOR, "accepted", {"billing_company": "Northwind Traders Ltd", "total": "12480.00"})
    ]


async def test_a_form_gate_reject_without_a_reason_is_refused_on_the_page(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    sessions: SessionMaker,
    form_worker: Worker,
) -> None:
    handle = await dev_env.client.start_workflow(
        FormProbeWorkflow.run, FormProbeInput(form=FORM), id=f"shipment-form-{uuid.uuid4()}", task_queue=task_queue
    )
    await wait_waiting(handle, "review")
    async with served_console(dev_env.client, settings, sessions) as base_url, chromium() as browser:
        page = await signed_in_page(browser, base_url)
        await page.goto(f"/console/executions/{handle.id}")
        reject = page.locator("section.waiting[data-step=review] form.decision-reject")
        await reject.locator("input[name=reason]").evaluate("input => input.removeAttribute('required')")
        await reject.locator("button[value=reject]").click()
        error = page.locator("section.waiting[data-step=review] p.field-error[data-field=reason]")
        await error.wait_for()
        assert "needs a reason" in await error.inner_text()
        reject = page.locator("section.waiting[data-step=review] form.decision-reject")
        await reject.locator("input[name=reason]").fill("not our invoice")
        await reject.locator("button[value=reject]").click()
        await page.locator("#done").wait_for()
    result = await handle.result()
    assert (result.approved, result.reason, result.answers) == (False, "not our invoice", {})
    assert [(r.action, r.reason, r.answers) for r in await audits(sessions, handle.id)] == [
        ("reject", "not our invoice", {})
    ]
