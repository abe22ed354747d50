"""Documents no reader can use: refused at the API's edge, or, when any S3 client drops them,
refused by the shipment with the reason (the bytes kept in quarantine) or sent to review.

Nothing is lost (every arrival has its row, every refused file its quarantined copy) and the
worker keeps running: the same shipment completes once usable documents arrive.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fpdf import FPDF
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.contracts import ShipmentResult, shipment_workflow_id
from activities.models.documents import Shipment, ShipmentDocument
from tests.support.documents import fast_poll
from tests.support.step_control import wait_waiting
from worker.devstack.shipment_demo import demo_documents
from worker.services import documents as service
from worker.settings import Settings

NOT_A_PDF = b"PK\x03\x04" + b"\x00" * 60  # a ZIP (an .xlsx, say) named .pdf
HUNDRED_MB = 100 * 1024 * 1024


def _blank_pdf() -> bytes:
    """A real PDF of one page with no text on it (a scan without its text layer reads the same)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    return bytes(pdf.output())


async def _inbound_keys(aws: AwsClients, bucket: str, shipment: str) -> list[str]:
    listed = await aws.call("s3", "list_objects_v2", Bucket=bucket, Prefix=f"documents-inbound/{shipment}/")
    return [o["Key"] for o in listed.get("Contents", [])]


async def test_the_api_refuses_an_empty_a_non_pdf_and_a_100_mb_file_naming_the_field_and_stores_nothing(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    shipment = f"SHP-EDGE-{uuid.uuid4().hex[:8]}"
    path = f"/shipments/{shipment}/documents/invoice"
    answers = {
        name: await api.post(path, files={"file": ("invoice.pdf", data, "application/pdf")})
        for name, data in (("empty", b""), ("zip", NOT_A_PDF), ("huge", b"%PDF-1.7\n" + b"0" * HUNDRED_MB))
    }
    assert {name: r.status_code for name, r in answers.items()} == {"empty": 422, "zip": 422, "huge": 413}
    assert answers["empty"].json()["errors"] == [{"field": "file", "message": "is empty"}]
    assert "is not a PDF" in answers["zip"].json()["detail"] and "PK" in answers["zip"].json()["detail"]
    # 100 MB is refused by its declared length before any route reads it.
    assert "larger than" in answers["huge"].json()["detail"]

    assert await _inbound_keys(aws, resources.documents_bucket, shipment) == []
    async with sessions() as session:
        assert await session.get(Shipment, shipment) is None
    with pytest.raises(RPCError) as missing:
        await dev_env.client.get_workflow_handle(shipment_workflow_id(shipment)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_unusable_files_dropped_in_s3_are_refused_or_reviewed_with_a_reason_and_the_shipment_still_completes(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    config = fast_poll(settings)
    bucket = resources.documents_bucket
    shipment = f"SHP-HOSTILE-{uuid.uuid4().hex[:8]}"

    async def drop(doc_type: str, data: bytes) -> str:
        # service.upload writes the object and signals as the intake does for any S3 client's
        # drop: no check at an edge, the shipment's own screening decides.
        arrival, delivered = await service.upload(
            aws, dev_env.client, config, resources, shipment, doc_type, data, None, config.worker.task_queue
        )
        assert delivered
        return arrival.etag

    async def documents() -> dict[str, ShipmentDocument]:
        async with sessions() as session:
            rows = (
                await session.scalars(select(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment))
            ).all()
        return {row.etag: row for row in rows}

    async def reaches(etag: str, *statuses: str) -> ShipmentDocument:
        for _ in range(600):
            row = (await documents()).get(etag)
            if row is not None and row.status in statuses:
                return row
            await asyncio.sleep(0.1)
        rows = {e: (r.doc_type, r.status, r.reason) for e, r in (await documents()).items()}
        described = await dev_env.client.get_workflow_handle(shipment_workflow_id(shipment)).describe()
        pending = [(a.activity_type, a.attempt, a.last_failure) for a in described.raw_description.pending_activities]
        raise AssertionError(f"arrival {etag} never reached {statuses}: {rows} {pending}")

    handle = dev_env.client.get_workflow_handle(shipment_workflow_id(shipment), result_type=ShipmentResult)
    async with stepwise_worker(dev_env.client):
        # Both types present, both unusable: refused with the reason, both types missing again.
        zip_etag = await drop("invoice", NOT_A_PDF)
        empty_etag = await drop("customs", b"")
        zipped, empty = await reaches(zip_etag, "REFUSED"), await reaches(empty_etag, "REFUSED")
        # The shipment screens once every type has a document again: a 100 MB customs form and
        # a real PDF with no text, from which nothing can be read, so every invoice field goes
        # to review.
        huge_etag = await drop("customs", b"%PDF-1.7\n" + b"0" * HUNDRED_MB)
        blank_etag = await drop("invoice", _blank_pdf())
        huge = await reaches(huge_etag, "REFUSED")
        waiting = await wait_waiting(handle, "review:invoice", timeout=90)
        assert waiting.form is not None
        asked = {f.name: f for f in waiting.form.fields}
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("review:invoice", "reject", operator="ada", reason="blank scan, no text layer"),
            result_type=DecisionOutcome,
        )
        blank = await reaches(blank_etag, "REJECTED")

        # The worker is still there: usable documents complete the same shipment.
        demo = demo_documents()
        await drop("invoice", demo["invoice"])
        await drop("customs", demo["customs"])
        await wait_waiting(handle, "review:invoice", timeout=90)
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("review:invoice", "approve", operator="ada", answers={"billing_company": "Northwind Traders"}),
            result_type=DecisionOutcome,
        )
        result = await handle.result()

    assert (zipped.status, zipped.reason) == ("REFUSED", "not a PDF (starts with 'PK\\x03\\x04\\x00\\x00\\x00\\x00')")
    assert (empty.status, empty.reason) == ("REFUSED", "empty file")
    assert huge.status == "REFUSED" and huge.reason is not None and "too large" in huge.reason
    # Each refused file's bytes are kept, byte for byte, in quarantine; the inbound copies stay.
    assert zipped.quarantine_key is not None
    assert await aws.read_object(bucket, zipped.quarantine_key) == NOT_A_PDF
    assert empty.quarantine_key is not None and await aws.read_object(bucket, empty.quarantine_key) == b""
    assert len(await _inbound_keys(aws, bucket, shipment)) == 2  # invoice.pdf and customs.pdf, last writes

    assert set(asked) >= {"invoice_number", "invoice_date", "total", "billing_company"}
    assert all(f.value in (None, "") and f.reason for f in asked.values())
    assert blank.reason is not None and "blank scan" in blank.reason

    assert result.status == "COMPLETE"
    statuses = {etag: row.status for etag, row in (await documents()).items()}
    assert {statuses[e] for e in (zip_etag, empty_etag, huge_etag)} == {"REFUSED"}
    assert sorted(statuses.values()).count("ACCEPTED") == 2
