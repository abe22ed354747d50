"""Shipment documents end to end on the embedded stack: dev server, worker, moto's S3 and SNS, the
Textract and Comprehend emulators reading real PDFs, Postgres.

The tests upload documents as the API and CLI do, then read the world: the review gate's form,
rows in Postgres with each field's provenance, the consolidated JSON in S3, SNS notices.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.contracts import ShipmentResult, shipment_workflow_id
from activities.models.documents import ShipmentDocument, ShipmentField
from tests.support.documents import fast_poll, upload_demo
from tests.support.step_control import audits, wait_waiting
from tests.support.world import QueueReader
from worker.services import documents as service
from worker.settings import Settings


async def test_the_demo_shipment_asks_only_about_the_uncertain_company_and_consolidates_the_correction(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    config = fast_poll(settings)
    notices = await QueueReader.subscribed_to(aws, resources.documents_notifications_topic)
    shipment = f"SHP-E2E-{uuid.uuid4().hex[:8]}"
    async with stepwise_worker(dev_env.client):
        await upload_demo(dev_env.client, aws, resources, config, shipment)
        handle = dev_env.client.get_workflow_handle(shipment_workflow_id(shipment), result_type=ShipmentResult)
        waiting = await wait_waiting(handle, "review:invoice", timeout=90)

        # Exactly the low-confidence field, with its value, confidence and where it was found.
        assert waiting.form is not None
        [asked] = waiting.form.fields
        assert (asked.name, asked.value, asked.confidence) == ("billing_company", "Northwind Traders", 0.941)
        assert "ORGANIZATION" in asked.source and "0.95" in asked.reason

        # An approval that leaves the field out is refused before it reaches history.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                DECIDE_UPDATE, StepDecision("review:invoice", "approve", operator="ada"), result_type=DecisionOutcome
            )
        assert "billing_company" in str(refused.value.cause)

        outcome = await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision(
                "review:invoice",
                "approve",
                operator="ada",
                reason="legal name from the contract",
                answers={"billing_company": "Northwind Traders Ltd"},
            ),
            result_type=DecisionOutcome,
        )
        assert not outcome.duplicate
        result = await handle.result()

    assert result.status == "COMPLETE" and result.reviewed == 1
    by_name = {(f.doc_type, f.name): f for f in result.fields}
    company = by_name[("invoice", "billing_company")]
    assert (company.value, company.provenance, company.reviewed_by, company.review) == (
        "Northwind Traders Ltd",
        "reviewed",
        "ada",
        "corrected",
    )
    assert by_name[("invoice", "invoice_number")].value == "INV-2026-0147"
    assert by_name[("customs", "authorisation_number")].value == "CA-77812"
    others = [f for f in result.fields if f.provenance == "extracted"]
    assert len(others) == len(result.fields) - 1
    assert all(f.confidence is not None and f.confidence >= 0.95 for f in others)

    # Postgres: the fields with their provenance, as status shows them.
    async with sessions() as session:
        rows = (await session.scalars(select(ShipmentField).where(ShipmentField.shipment_id == shipment))).all()
        documents = (
            await session.scalars(select(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment))
        ).all()
    assert {d.doc_type: d.status for d in documents} == {"invoice": "ACCEPTED", "customs": "ACCEPTED"}
    row = next(r for r in rows if r.name == "billing_company")
    assert (row.value, row.extracted_value, row.reviewed_by) == ("Northwind Traders Ltd", "Northwind Traders", "ada")
    assert service.provenance(row) == "reviewed by ada (corrected)"
    number = next(r for r in rows if r.name == "invoice_number")
    assert service.provenance(number).startswith("extracted, 0.9")

    view = await service.shipment_view(sessions, dev_env.client, shipment)
    assert view is not None and view.status == "COMPLETE" and view.missing == []

    # The consolidated record in the processed layer, and one notice.
    record = json.loads(await aws.read_object(resources.documents_bucket, f"processed/{shipment}/shipment.json"))
    assert record["shipment_id"] == shipment
    assert len([m for m in await notices.drain() if shipment in json.dumps(m)]) == 1

    # The decision was audited with its answers.
    [audit] = [a for a in await audits(sessions, shipment_workflow_id(shipment)) if a.step == "review:invoice"]
    assert audit.operator == "ada" and audit.answers == {"billing_company": "Northwind Traders Ltd"}


async def test_the_same_document_uploaded_twice_changes_nothing(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    config = fast_poll(settings)
    shipment = f"SHP-TWICE-{uuid.uuid4().hex[:8]}"
    async with stepwise_worker(dev_env.client):
        await upload_demo(dev_env.client, aws, resources, config, shipment, ["invoice", "invoice", "customs"])
        handle = dev_env.client.get_workflow_handle(shipment_workflow_id(shipment), result_type=ShipmentResult)
        await wait_waiting(handle, "review:invoice", timeout=90)
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("review:invoice", "approve", operator="ada", answers={"billing_company": "Northwind Traders"}),
            result_type=DecisionOutcome,
        )
        result = await handle.result()
    assert result.status == "COMPLETE"
    company = next(f for f in result.fields if f.name == "billing_company")
    assert company.review == "confirmed"
    async with sessions() as session:
        documents = (
            await session.scalars(
                select(ShipmentDocument).where(
                    ShipmentDocument.shipment_id == shipment, ShipmentDocument.status != "IGNORED"
                )
            )
        ).all()
    assert sorted(d.doc_type for d in documents) == ["customs", "invoice"]  # one row per document, not two
