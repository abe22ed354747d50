"""The shipment documents activities against moto's S3, Postgres and the Textract and Comprehend
emulators, run the way retries run them (twice, or polled), asserting on rows, objects and
the notification ledger."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.documents.check import FieldCheck
from activities.documents.consolidate import Consolidation
from activities.documents.contracts import (
    ANALYSIS_NOT_DONE,
    DOCUMENT_REFUSED,
    AnalysisRequest,
    AnalysisWait,
    ArrivalRecord,
    CheckRequest,
    ConsolidateRequest,
    DocumentArrival,
    DocumentRejection,
    EntitiesRequest,
    ReviewRecord,
    ScreenInput,
    inbound_key,
)
from activities.documents.entities import EntityDetection
from activities.documents.review import DocumentReviews
from activities.documents.screen import DocumentScreening
from activities.documents.textract import DocumentAnalysis
from activities.models.common import NotificationLedger
from activities.models.documents import Shipment, ShipmentDocument, ShipmentField
from worker.devstack.shipment_demo import demo_documents

LIMIT = 10 * 1024 * 1024


@dataclasses.dataclass
class Pipeline:
    screening: DocumentScreening
    analysis: DocumentAnalysis
    entities: EntityDetection
    check: FieldCheck
    reviews: DocumentReviews
    consolidation: Consolidation


@pytest.fixture
def pipeline(aws: AwsClients, sessions: SessionMaker, resources: Resources, emulators: Any) -> Pipeline:
    """The activities as activities/documents/catalog.py wires them (Textract/Comprehend emulated)."""
    emulators.state.textract.reset()
    return Pipeline(
        DocumentScreening(aws, sessions, resources),
        DocumentAnalysis(aws, sessions, resources),
        EntityDetection(aws, resources),
        FieldCheck(aws, sessions, resources),
        DocumentReviews(sessions),
        Consolidation(aws, sessions, resources, Notifier(aws, sessions)),
    )


def run(function: Any, argument: Any) -> Any:
    return ActivityEnvironment().run(function, argument)


async def arrive(
    aws: AwsClients, resources: Resources, shipment: str, doc_type: str, body: bytes, ext: str = "pdf"
) -> DocumentArrival:
    key = inbound_key(shipment, doc_type, ext)
    put = await aws.call("s3", "put_object", Bucket=resources.documents_bucket, Key=key, Body=body)
    return DocumentArrival(shipment, doc_type, key, str(put["ETag"]).strip('"'), len(body), ext)


async def rows(sessions: SessionMaker, shipment: str) -> list[ShipmentDocument]:
    async with sessions() as session:
        found = await session.scalars(
            select(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment).order_by(ShipmentDocument.id)
        )
        return list(found)


async def field_rows(sessions: SessionMaker, shipment: str) -> dict[str, ShipmentField]:
    async with sessions() as session:
        found = await session.scalars(select(ShipmentField).where(ShipmentField.shipment_id == shipment))
        return {f"{f.doc_type}.{f.name}": f for f in found}


def shipment_id() -> str:
    return f"SHP-T-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    ("body", "ext", "reason"),
    [
        (b"", "pdf", "empty file"),
        (b"PK\x03\x04 a zip pretending", "pdf", "not a PDF (starts with 'PK\\x03\\x04 a z')"),
        (b"%PDF-1.7 but named .docx", "docx", "not a PDF (extension .docx)"),
    ],
)
async def test_a_refused_document_is_quarantined_byte_for_byte_with_its_reason(
    pipeline: Pipeline,
    aws: AwsClients,
    resources: Resources,
    sessions: SessionMaker,
    body: bytes,
    ext: str,
    reason: str,
) -> None:
    shipment = shipment_id()
    arrival = await arrive(aws, resources, shipment, "invoice", body, ext)
    await run(pipeline.screening.record_arrival, ArrivalRecord(arrival, "RECEIVED"))
    screened = await run(pipeline.screening.screen_document, ScreenInput(arrival, LIMIT))
    again = await run(pipeline.screening.screen_document, ScreenInput(arrival, LIMIT))
    assert screened == again
    assert not screened.accepted
    assert screened.reason == reason
    assert screened.quarantine_key == f"quarantine/{shipment}/invoice/{arrival.etag}.{ext}"
    assert await aws.read_object(resources.documents_bucket, screened.quarantine_key) == body
    [row] = await rows(sessions, shipment)
    assert (row.status, row.reason, row.quarantine_key, row.raw_key) == (
        "REFUSED",
        reason,
        screened.quarantine_key,
        None,
    )


async def test_a_document_over_the_limit_is_refused_with_its_size(
    pipeline: Pipeline, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    shipment = shipment_id()
    arrival = await arrive(aws, resources, shipment, "customs", b"%PDF-1.7\n" + b"0" * 100)
    screened = await run(pipeline.screening.screen_document, ScreenInput(arrival, 50))
    assert screened.reason == f"too large (109 bytes, limit 50); left at {arrival.key}"
    [row] = await rows(sessions, shipment)
    assert (row.status, row.size, row.quarantine_key) == ("REFUSED", 109, None)
    # Not copied: nothing of it under quarantine/, the inbound object is where it arrived.
    listed = await aws.call(
        "s3", "list_objects_v2", Bucket=resources.documents_bucket, Prefix=f"quarantine/{shipment}/"
    )
    assert listed.get("KeyCount", 0) == 0
    assert len(await aws.read_object(resources.documents_bucket, arrival.key)) == 109


async def test_the_same_arrival_twice_is_one_row_and_an_ignored_one_is_kept_with_its_reason(
    pipeline: Pipeline, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    shipment = shipment_id()
    arrival = await arrive(aws, resources, shipment, "invoice", demo_documents()["invoice"])
    await run(
        pipeline.screening.record_arrival, ArrivalRecord(dataclasses.replace(arrival, submitted_by="acme"), "RECEIVED")
    )
    await run(pipeline.screening.record_arrival, ArrivalRecord(arrival, "RECEIVED"))
    await run(pipeline.screening.record_arrival, ArrivalRecord(arrival, "IGNORED", "the same document again"))
    other = await arrive(aws, resources, shipment, "invoice", b"%PDF-1.4 another invoice")
    await run(pipeline.screening.record_arrival, ArrivalRecord(other, "IGNORED", "invoice already in process"))
    found = await rows(sessions, shipment)
    assert [(r.etag, r.status, r.reason) for r in found] == [
        (arrival.etag, "RECEIVED", None),
        (other.etag, "IGNORED", "invoice already in process"),
    ]
    async with sessions() as session:
        record = await session.get(Shipment, shipment)
    assert record is not None
    assert (record.status, record.partner) == ("RECEIVING", "acme")


async def test_textract_refusing_a_failed_job_refuses_the_document(
    pipeline: Pipeline, aws: AwsClients, resources: Resources, emulators: Any
) -> None:
    shipment = shipment_id()
    arrival = await arrive(aws, resources, shipment, "invoice", demo_documents()["invoice"])
    screened = await run(pipeline.screening.screen_document, ScreenInput(arrival, LIMIT))
    emulators.state.textract.configure_jobs(fail_jobs=1, reason="the document is blurred", polls_in_progress=0)
    job = await run(
        pipeline.analysis.start_analysis, AnalysisRequest(shipment, "invoice", arrival.etag, screened.raw_key)
    )
    with pytest.raises(ApplicationError) as failed:
        await run(pipeline.analysis.await_analysis, AnalysisWait(shipment, "invoice", arrival.etag, job.job_id))
    assert failed.value.type == DOCUMENT_REFUSED
    assert failed.value.non_retryable
    assert "the document is blurred" in failed.value.message


async def test_a_shipment_from_arrival_to_its_consolidated_record(
    pipeline: Pipeline, aws: AwsClients, resources: Resources, sessions: SessionMaker, emulators: Any
) -> None:
    shipment = shipment_id()
    bucket = resources.documents_bucket
    textract = emulators.state.textract
    textract.configure_jobs(polls_in_progress=1)
    checked = {}
    etags = {}
    for doc_type, body in demo_documents().items():
        arrival = await arrive(aws, resources, shipment, doc_type, body)
        etags[doc_type] = arrival.etag
        await run(pipeline.screening.record_arrival, ArrivalRecord(arrival, "RECEIVED"))
        screened = await run(pipeline.screening.screen_document, ScreenInput(arrival, LIMIT))
        assert screened.accepted
        assert screened.raw_key == f"raw/{shipment}/{doc_type}/{arrival.etag}.pdf"
        assert await aws.read_object(bucket, screened.raw_key) == body

        request = AnalysisRequest(shipment, doc_type, arrival.etag, screened.raw_key)
        first = await run(pipeline.analysis.start_analysis, request)
        second = await run(pipeline.analysis.start_analysis, request)  # a retried start
        assert first == second
        assert len(textract.jobs_for(bucket, screened.raw_key)) == 1

        wait = AnalysisWait(shipment, doc_type, arrival.etag, first.job_id)
        with pytest.raises(ApplicationError) as polled:
            await run(pipeline.analysis.await_analysis, wait)
        assert polled.value.type == ANALYSIS_NOT_DONE
        assert not polled.value.non_retryable
        analysed = await run(pipeline.analysis.await_analysis, wait)
        assert analysed.prefix == f"staging/{shipment}/{doc_type}/{arrival.etag}/"
        assert analysed.pages == 1
        assert analysed.key_values > 0
        key_values = json.loads(await aws.read_object(bucket, analysed.prefix + "key_values.json"))
        assert all(0 <= kv["confidence"] <= 1 for kv in key_values)

        found = await run(
            pipeline.entities.detect_entities, EntitiesRequest(shipment, doc_type, arrival.etag, analysed.prefix)
        )
        text = (await aws.read_object(bucket, analysed.prefix + "text.txt")).decode()
        entities = json.loads(await aws.read_object(bucket, analysed.prefix + "entities.json"))["Entities"]
        assert found.entities == len(entities) > 0
        assert all(text[e["BeginOffset"] : e["EndOffset"]] == e["Text"] for e in entities)

        check = CheckRequest(shipment, doc_type, arrival.etag, analysed.prefix, 0.95)
        checked[doc_type] = await run(pipeline.check.check_fields, check)
        assert await run(pipeline.check.check_fields, check) == checked[doc_type]

    # The demo: only the billing company (a company without a legal suffix) is unsure.
    assert checked["invoice"].to_review == ["billing_company"]
    assert checked["customs"].to_review == []
    fields = await field_rows(sessions, shipment)
    assert fields["invoice.invoice_number"].value == "INV-2026-0147"
    assert fields["invoice.invoice_number"].source.startswith('form key "Invoice No"')
    assert fields["invoice.total"].value == "12480.00"
    assert fields["invoice.invoice_date"].value == "2026-11-28"
    assert fields["customs.hs_codes"].value == "8471.30, 8473.30"
    assert fields["invoice.billing_company"].value == "Northwind Traders"
    assert fields["invoice.billing_company"].confidence == pytest.approx(0.941)
    assert all(f.provenance == "extracted" for f in fields.values())
    assert {r.doc_type: r.status for r in await rows(sessions, shipment)} == {
        "invoice": "IN_REVIEW",
        "customs": "ACCEPTED",
    }

    review = ReviewRecord(
        shipment, "invoice", etags["invoice"], "ops@example.com", {"billing_company": "Northwind Traders"}
    )
    await run(pipeline.reviews.record_review, review)
    await run(pipeline.reviews.record_review, review)
    billing = (await field_rows(sessions, shipment))["invoice.billing_company"]
    assert (billing.provenance, billing.review, billing.reviewed_by) == ("reviewed", "confirmed", "ops@example.com")

    consolidate = ConsolidateRequest(shipment, etags)
    result = await run(pipeline.consolidation.consolidate, consolidate)
    assert await run(pipeline.consolidation.consolidate, consolidate) == result
    assert result.processed_key == f"processed/{shipment}/shipment.json"
    assert result.reviewed == 1
    record = json.loads(await aws.read_object(bucket, result.processed_key))
    assert record["status"] == "COMPLETE"
    assert record["fields"]["invoice"]["billing_company"] == {
        "label": "Billing company",
        "value": "Northwind Traders",
        "provenance": "reviewed",
        "confidence": pytest.approx(0.941),
        "source": 'entity ORGANIZATION #1 "Northwind Traders"',
        "reviewed_by": "ops@example.com",
        "review": "confirmed",
    }
    assert record["fields"]["customs"]["declared_value"]["provenance"] == "extracted"
    async with sessions() as session:
        row = await session.get(Shipment, shipment)
        sent = list(
            await session.scalars(
                select(NotificationLedger).where(
                    NotificationLedger.notification_key == f"shipment-{shipment}:consolidated"
                )
            )
        )
    assert row is not None
    assert (row.status, row.processed_key) == ("COMPLETE", result.processed_key)
    assert row.completed_at is not None
    assert len(sent) == 1
    assert sent[0].message_id
    assert sent[0].topic == resources.documents_notifications_topic


async def test_a_correction_and_a_rejection_are_recorded_with_the_reviewer(
    pipeline: Pipeline, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    shipment = shipment_id()
    bucket = resources.documents_bucket
    etag = "0123456789abcdef0123456789abcdef"
    prefix = f"staging/{shipment}/customs/{etag}/"
    key_values = [
        {"key": "Authorisation No", "value": "CA-1", "confidence": 0.99, "page": 1},
        {"key": "Declared Value", "value": "12,480.00", "confidence": 0.80, "page": 1},
        {"key": "HS Codes", "value": "8471.30", "confidence": 0.99, "page": 1},
        {"key": "Exporter", "value": "Northwind Traders Ltd", "confidence": 0.99, "page": 1},
    ]
    for name, body in {
        "key_values.json": json.dumps(key_values),
        "text.txt": "CUSTOMS",
        "entities.json": json.dumps({"Entities": []}),
    }.items():
        await aws.call("s3", "put_object", Bucket=bucket, Key=prefix + name, Body=body.encode())
    checked = await run(pipeline.check.check_fields, CheckRequest(shipment, "customs", etag, prefix, 0.95))
    assert checked.to_review == ["declared_value"]
    await run(
        pipeline.reviews.record_review, ReviewRecord(shipment, "customs", etag, "ana", {"declared_value": "12840.00"})
    )
    declared = (await field_rows(sessions, shipment))["customs.declared_value"]
    assert (declared.value, declared.extracted_value, declared.review, declared.reviewed_by) == (
        "12840.00",
        "12480.00",
        "corrected",
        "ana",
    )
    await run(pipeline.reviews.reject_document, DocumentRejection(shipment, "customs", etag, "wrong shipment", "ana"))
    [row] = await rows(sessions, shipment)
    assert (row.status, row.reason, row.decided_by) == ("REJECTED", "wrong shipment", "ana")
