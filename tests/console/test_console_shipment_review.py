"""The demo shipment's review gate in the console, in a real Chromium, with the real worker.

The demo's two PDFs are uploaded as the API does; the Textract and Comprehend emulators read
them, and the shipment waits at ``review:invoice`` asking about exactly one field, the billing
company (read with a confidence of 0.941). The operator signs in to the console, sees that one
field with its value, confidence and where it was found, corrects it and approves. Then the
world: the consolidated record in Postgres says the field was reviewed by the console's
operator and every other field was extracted with its confidence; the execution page and
``GET /shipments/{id}`` say so too; the audit row holds the answer.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.contracts import ShipmentResult, shipment_workflow_id
from activities.models.documents import ShipmentField
from tests.console.browser import chromium, screenshot_dir, served_console, signed_in_page
from tests.console.support import OPERATOR, OPERATOR_TOKEN
from tests.support.documents import fast_poll, upload_demo
from tests.support.step_control import audits, wait_waiting
from worker.services import documents as service
from worker.settings import Settings

pytestmark = pytest.mark.timeout(300)

CORRECTION = "Northwind Traders Ltd"


async def test_the_operator_corrects_the_demo_shipments_one_uncertain_field_in_the_console(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    tmp_path: Path,
) -> None:
    shipment = f"SHP-CONSOLE-{uuid.uuid4().hex[:8]}"
    workflow_id = shipment_workflow_id(shipment)
    step = "review:invoice"
    async with stepwise_worker(dev_env.client):
        await upload_demo(dev_env.client, aws, resources, fast_poll(settings), shipment)
        handle = dev_env.client.get_workflow_handle(workflow_id, result_type=ShipmentResult)
        waiting = await wait_waiting(handle, step, timeout=90)
        assert waiting.form is not None
        [asked] = waiting.form.fields
        assert "ORGANIZATION" in asked.source  # where Comprehend found it, as the page must show

        async with served_console(dev_env.client, settings, sessions) as base_url, chromium() as browser:
            page = await signed_in_page(browser, base_url)
            await page.goto(f"/console/executions/{workflow_id}")
            section = page.locator(f"section.waiting[data-step='{step}']")
            form = section.locator("form.review-form")

            # Exactly one field to review: the billing company, as extracted, with where it was found.
            rows = form.locator("table.review-fields tbody tr")
            assert await rows.count() == 1
            row = rows.first
            assert await row.get_attribute("data-field") == "billing_company"
            assert "Billing company" in await row.locator("th").inner_text()
            company = row.locator("input[name='answer:billing_company']")
            assert await company.input_value() == "Northwind Traders"
            assert await row.locator(".confidence").inner_text() == "0.941"
            source = await row.locator(".source").inner_text()
            assert source == asked.source and "ORGANIZATION" in source and "Northwind Traders" in source
            assert "below 0.95" in await row.locator(".reason").inner_text()

            await company.fill(CORRECTION)
            await form.locator("input[name=reason]").fill("legal name from the contract")
            await page.screenshot(path=str(screenshot_dir(tmp_path) / "console-shipment-review.png"), full_page=False)
            await form.locator("button[value=approve]").click()
            await page.locator("#done").wait_for()
            assert f"approve of {step} by" in await page.locator("#done").inner_text()

            result = await handle.result()

            # The execution page, reloaded: complete, no gate left, the review decided by the operator.
            await page.reload()
            assert await page.locator("#status").inner_text() == "COMPLETED"
            assert await page.locator("section.waiting").count() == 0
            review_row = page.locator("#steps tbody tr", has=page.locator(f"code:text-is('{step}')"))
            assert f"approve by {OPERATOR}" in await review_row.inner_text()
            # The shipment's fields with their provenance, on the same page.
            shown_rows = page.locator("#shipment-fields tbody tr")
            page_provenance = {
                (await r.get_attribute("data-doc"), await r.get_attribute("data-field")): (
                    await r.locator(".value").inner_text(),
                    await r.locator(".provenance").inner_text(),
                )
                for r in await shown_rows.all()
            }
            await page.screenshot(path=str(screenshot_dir(tmp_path) / "console-shipment-done.png"), full_page=True)

            # The shipment's status view, as an operator reads it from the same app.
            async with httpx.AsyncClient(
                base_url=base_url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=10
            ) as http:
                response = await http.get(f"/shipments/{shipment}")
            assert response.status_code == 200, response.text
            view = response.json()

    # The workflow's result: one field reviewed, the correction as its value.
    assert result.status == "COMPLETE" and result.reviewed == 1
    reviewed = [f for f in result.fields if f.provenance == "reviewed"]
    assert [(f.doc_type, f.name, f.value, f.reviewed_by, f.review) for f in reviewed] == [
        ("invoice", "billing_company", CORRECTION, OPERATOR, "corrected")
    ]

    # Postgres: the billing company reviewed by the console's operator, every other field extracted.
    async with sessions() as session:
        fields = (await session.scalars(select(ShipmentField).where(ShipmentField.shipment_id == shipment))).all()
    assert {f.doc_type for f in fields} == {"invoice", "customs"}
    company_row = next(f for f in fields if (f.doc_type, f.name) == ("invoice", "billing_company"))
    assert (company_row.value, company_row.extracted_value, company_row.confidence) == (
        CORRECTION,
        "Northwind Traders",
        0.941,
    )
    assert (company_row.provenance, company_row.reviewed_by, company_row.review) == ("reviewed", OPERATOR, "corrected")
    assert company_row.reviewed_at is not None
    assert service.provenance(company_row) == f"reviewed by {OPERATOR} (corrected)"
    others = [f for f in fields if f is not company_row]
    assert len(others) == len(fields) - 1 >= 1
    for other in others:
        assert other.provenance == "extracted" and other.reviewed_by is None, other.name
        assert other.confidence is not None and other.confidence >= 0.95, (other.name, other.confidence)
        assert other.value == other.extracted_value, other.name
        assert service.provenance(other).startswith("extracted, 0.9"), service.provenance(other)

    # GET /shipments/{id}: the same provenance, field by field.
    assert view["status"] == "COMPLETE" and view["waiting"] == [] and view["missing"] == []
    shown = {(d["doc_type"], f["name"]): f for d in view["documents"] for f in d["fields"]}
    assert set(shown) == {(f.doc_type, f.name) for f in fields}
    billing = shown[("invoice", "billing_company")]
    assert billing["value"] == CORRECTION
    assert billing["provenance"].startswith(f"reviewed by {OPERATOR}")
    for (doc_type, name), field in shown.items():
        if (doc_type, name) != ("invoice", "billing_company"):
            assert field["provenance"].startswith("extracted, 0.9"), (doc_type, name, field["provenance"])

    # The execution page: the same, field by field.
    assert set(page_provenance) == {(f.doc_type, f.name) for f in fields}
    assert page_provenance[("invoice", "billing_company")] == (CORRECTION, f"reviewed by {OPERATOR} (corrected)")
    for other in others:
        assert page_provenance[(other.doc_type, other.name)] == (other.value, service.provenance(other))

    # The decision was audited under the operator, with its answer and reason.
    [audit] = [a for a in await audits(sessions, workflow_id) if a.step == step]
    assert (audit.action, audit.operator, audit.outcome, audit.answers) == (
        "approve",
        OPERATOR,
        "accepted",
        {"billing_company": CORRECTION},
    )
    assert audit.reason == "legal name from the contract"
