"""Rescuing a shipment through the operators' HTTP API, on the embedded stack (dev server, the
real worker, moto's S3/SQS, the Textract and Comprehend emulators, Postgres).

* The review gate decided over ``POST /workflows/shipment-<id>/decisions``: an approval without
  the form's answers is refused and leaves no trace; the one with answers is audited under the
  token's operator, who is the field's reviewer, and the decision log (API and console) shows
  the answers.
* Textract throttled until the start's retries run out: both analyses park; once the throttling
  is over an operator's retry of each completes the shipment with one Textract job per document.
* A file that is not a PDF dropped by any S3 client travels S3 event -> SQS -> the intake -> the
  workflow, whose screen refuses it with the reason and keeps its bytes in quarantine.

Every test reads the world: Postgres rows, S3 objects, the emulator's jobs, the workflow history.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import AWS_THROTTLED
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.consolidate import processed_key
from activities.documents.contracts import START_ANALYSIS, ShipmentResult, inbound_key, shipment_workflow_id
from activities.documents.screen import quarantine_key, raw_key
from activities.models.documents import ShipmentDocument, ShipmentField
from tests.conftest import OPERATOR_NAME, make_deps
from tests.console.support import OPERATOR_TOKEN as CONSOLE_TOKEN
from tests.console.support import console_client, sign_in
from tests.support.documents import fast_poll, upload_demo
from tests.support.step_control import audits, step_status, wait_waiting
from tests.support.world import QueueReader
from worker.devstack.emulators.textract import TextractEmulator
from worker.devstack.shipment_demo import demo_documents
from worker.documents_intake import DocumentsIntake
from worker.settings import Settings
from workflows.documents.shipment import STATUS_QUERY, ShipmentStatus

DOC_TYPES = ("invoice", "customs")
ANSWERS = {"billing_company": "Northwind Traders Ltd"}
NOT_A_PDF = b"PK\x03\x04\x14\x00\x06\x00word/document.xml: a Word file saved as invoice.pdf"


async def _upload_demo(
    client: Client, aws: AwsClients, resources: Resources, settings: Settings, shipment: str
) -> dict[str, str]:
    """Both demo documents uploaded with a fast Textract poll; their ETags."""
    arrivals = await upload_demo(client, aws, resources, fast_poll(settings), shipment)
    return {doc_type: arrival.etag for doc_type, arrival in arrivals.items()}


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _events(handle: WorkflowHandle[Any, Any], event_type: EventType.ValueType) -> list[Any]:
    return [e for e in (await handle.fetch_history()).events if e.event_type == event_type]


async def _documents(sessions: SessionMaker, shipment: str) -> list[ShipmentDocument]:
    async with sessions() as session:
        return list(await session.scalars(select(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment)))


async def test_the_review_decided_through_the_api_is_audited_with_its_answers_under_the_tokens_operator(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    api: httpx.AsyncClient,
) -> None:
    shipment = f"SHP-API-{uuid.uuid4().hex[:8]}"
    workflow_id = shipment_workflow_id(shipment)
    url = f"/workflows/{workflow_id}/decisions"
    handle = dev_env.client.get_workflow_handle(workflow_id, result_type=ShipmentResult)
    async with stepwise_worker(dev_env.client):
        await _upload_demo(dev_env.client, aws, resources, settings, shipment)
        await wait_waiting(handle, "review:invoice", timeout=90)

        # An approval without the form's answer: refused by the gate, naming the field; nothing recorded.
        refused = await api.post(url, json={"step": "review:invoice", "action": "approve"})
        assert refused.status_code == 409, refused.text
        assert "billing_company" in refused.json()["detail"]
        assert await audits(sessions, workflow_id) == []
        assert await _events(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == []
        assert "review:invoice" in (await step_status(handle)).waiting
        listed = (await api.get("/decisions", params={"workflow_id": workflow_id})).json()
        assert listed == {"items": [], "count": 0}

        accepted = await api.post(
            url,
            json={
                "step": "review:invoice",
                "action": "approve",
                "reason": "legal name from the contract",
                "answers": ANSWERS,
            },
        )
        assert accepted.status_code == 200, accepted.text
        result = await asyncio.wait_for(handle.result(), timeout=60)

    assert result.status == "COMPLETE" and result.reviewed == 1
    assert len(await _events(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)) == 1

    # Postgres: the field was corrected by the operator the token belongs to.
    async with sessions() as session:
        company = (
            await session.scalars(
                select(ShipmentField).where(
                    ShipmentField.shipment_id == shipment, ShipmentField.name == "billing_company"
                )
            )
        ).one()
    assert (company.value, company.extracted_value, company.provenance, company.reviewed_by, company.review) == (
        "Northwind Traders Ltd",
        "Northwind Traders",
        "reviewed",
        OPERATOR_NAME,
        "corrected",
    )

    # The shipment's status says so.
    status = await api.get(f"/shipments/{shipment}")
    assert status.status_code == 200, status.text
    view = status.json()
    assert view["status"] == "COMPLETE"
    [invoice] = [d for d in view["documents"] if d["doc_type"] == "invoice"]
    [field] = [f for f in invoice["fields"] if f["name"] == "billing_company"]
    assert (field["value"], field["provenance"]) == (
        "Northwind Traders Ltd",
        f"reviewed by {OPERATOR_NAME} (corrected)",
    )

    # The decision log lists the approval with its answers (the audit row holds the same).
    listed = (await api.get("/decisions", params={"workflow_id": workflow_id})).json()
    assert listed["count"] == 1
    [item] = listed["items"]
    assert (item["step"], item["action"], item["operator"], item["outcome"], item["reason"], item["answers"]) == (
        "review:invoice",
        "approve",
        OPERATOR_NAME,
        "accepted",
        "legal name from the contract",
        ANSWERS,
    )
    assert [(a.operator, a.answers) for a in await audits(sessions, workflow_id)] == [(OPERATOR_NAME, ANSWERS)]

    # And so does the console's audit page.
    async with console_client(dev_env.client, settings, sessions) as console:
        await sign_in(console, CONSOLE_TOKEN)
        page = await console.get("/console/audit", params={"workflow_id": workflow_id})
    assert page.status_code == 200, page.text[:300]
    assert (
        '<div class="answer" data-field="billing_company"><code>billing_company</code> = '
        '<span title="Northwind Traders Ltd">Northwind Traders Ltd</span></div>'
    ) in page.text


async def test_textract_throttled_until_the_retries_run_out_parks_and_an_operators_retry_completes(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    api: httpx.AsyncClient,
    emulators: Any,
) -> None:
    textract: TextractEmulator = emulators.state.textract
    shipment = f"SHP-THR-{uuid.uuid4().hex[:8]}"
    workflow_id = shipment_workflow_id(shipment)
    handle = dev_env.client.get_workflow_handle(workflow_id, result_type=ShipmentResult)
    bucket = resources.documents_bucket
    textract.reset()
    # AwsThrottled (retryable): every start is throttled until cleared; polls are not touched.
    textract.inject(1, code="ProvisionedThroughputExceededException", forever=True, operation="StartDocumentAnalysis")
    try:
        async with stepwise_worker(dev_env.client):
            etags = await _upload_demo(dev_env.client, aws, resources, settings, shipment)
            # START_ANALYSIS: 5 attempts, waits of 2 + 4 + 8 + 16 s, then the step parks.
            parked = {doc_type: await wait_waiting(handle, f"analyse:{doc_type}", timeout=75) for doc_type in DOC_TYPES}
            for doc_type, state in parked.items():
                assert state.status == "parked", (doc_type, state)
                # The throttling reaches the workflow as itself (its type decides retries and what the operator sees).
                assert (state.last_error_type, state.attempts) == (AWS_THROTTLED, 5), (doc_type, state.last_error)
                assert "retry" in state.allowed_actions
            keys = {doc_type: raw_key(shipment, doc_type, etags[doc_type]) for doc_type in DOC_TYPES}
            assert all(textract.jobs_for(bucket, key) == [] for key in keys.values())  # every start was refused
            documents = await _documents(sessions, shipment)
            assert sorted((d.doc_type, d.raw_key, d.job_id) for d in documents) == sorted(
                (doc_type, keys[doc_type], None) for doc_type in DOC_TYPES
            )

            textract.inject(0)  # the throttling is over
            for doc_type in DOC_TYPES:
                retried = await api.post(
                    f"/workflows/{workflow_id}/decisions",
                    json={"step": f"analyse:{doc_type}", "action": "retry", "reason": "Textract quota raised"},
                )
                assert retried.status_code == 200, retried.text

            await wait_waiting(handle, "review:invoice", timeout=60)
            approved = await api.post(
                f"/workflows/{workflow_id}/decisions",
                json={"step": "review:invoice", "action": "approve", "answers": ANSWERS},
            )
            assert approved.status_code == 200, approved.text
            result = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        textract.reset()

    assert result.status == "COMPLETE"

    # Textract: one job per document, the one Postgres recorded.
    documents = await _documents(sessions, shipment)
    assert sorted(d.doc_type for d in documents) == sorted(DOC_TYPES)
    for document in documents:
        jobs = textract.jobs_for(bucket, keys[document.doc_type])
        assert len(jobs) == 1, (document.doc_type, jobs)
        assert (document.status, document.job_id) == ("ACCEPTED", jobs[0]["JobId"])

    # History: per document, the throttled run failed once its retries ran out, the operator's run succeeded.
    history = await handle.fetch_history()
    starts = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == START_ANALYSIS.name
    }
    assert len(starts) == 2 * len(DOC_TYPES)
    failed = [
        e.activity_task_failed_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
        and e.activity_task_failed_event_attributes.scheduled_event_id in starts
    ]
    assert len(failed) == len(DOC_TYPES)
    assert [f.failure.application_failure_info.type for f in failed] == [AWS_THROTTLED] * len(DOC_TYPES)
    attempts = {
        e.activity_task_started_event_attributes.scheduled_event_id: e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in starts
    }
    assert sorted(attempts.values()) == [1] * len(DOC_TYPES) + [5] * len(DOC_TYPES)

    # The decisions, audited under the token's operator.
    listed = (await api.get("/decisions", params={"workflow_id": workflow_id})).json()
    assert sorted((i["step"], i["action"], i["operator"], i["answers"]) for i in listed["items"]) == [
        ("analyse:customs", "retry", OPERATOR_NAME, None),
        ("analyse:invoice", "retry", OPERATOR_NAME, None),
        ("review:invoice", "approve", OPERATOR_NAME, ANSWERS),
    ]
    record = json.loads(await aws.read_object(bucket, processed_key(shipment)))
    assert record["shipment_id"] == shipment and record["status"] == "COMPLETE"


async def test_a_file_that_is_not_a_pdf_dropped_in_s3_is_refused_by_the_screen_and_quarantined(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    partner_http: aiohttp.ClientSession,
    emulators: Any,
) -> None:
    textract: TextractEmulator = emulators.state.textract
    config = fast_poll(settings)
    bucket = resources.documents_bucket
    queue_url = await aws.queue_url(resources.documents_intake_queue)
    await QueueReader(aws, queue_url).drain()
    shipment = f"SHP-DROP-{uuid.uuid4().hex[:8]}"
    handle = dev_env.client.get_workflow_handle(shipment_workflow_id(shipment))
    # A Word file saved as invoice.pdf, and a valid customs declaration: the screen runs once
    # every required type has a document.
    dropped = {"invoice": NOT_A_PDF, "customs": demo_documents()["customs"]}
    for doc_type, data in dropped.items():
        await aws.call("s3", "put_object", Bucket=bucket, Key=inbound_key(shipment, doc_type), Body=data)
    etags = {
        doc_type: (await aws.call("s3", "head_object", Bucket=bucket, Key=inbound_key(shipment, doc_type)))[
            "ETag"
        ].strip('"')
        for doc_type in dropped
    }

    intake = DocumentsIntake(
        dev_env.client, config, make_deps(dev_env.client, sessions, resources, aws, partner_http, config)
    )
    intake.wait_seconds = 0
    try:
        async with stepwise_worker(dev_env.client):
            handled = 0
            for _ in range(20):
                handled += await intake.poll_once()
                if handled >= len(dropped):
                    break
            assert handled == len(dropped), f"only {handled} of {len(dropped)} events handled"

            async def screened() -> bool:
                statuses = {d.doc_type: d.status for d in await _documents(sessions, shipment)}
                return statuses == {"invoice": "REFUSED", "customs": "ACCEPTED"}

            await _eventually(screened, 60, "the invoice refused and the customs declaration accepted")
            status: ShipmentStatus = await handle.query(STATUS_QUERY, result_type=ShipmentStatus)
        history = await handle.fetch_history()
    finally:
        await handle.terminate("test done")  # it waits for a replacement invoice

    # Postgres: the refusal with its reason and where the bytes are kept.
    [invoice] = [d for d in await _documents(sessions, shipment) if d.doc_type == "invoice"]
    kept = quarantine_key(shipment, "invoice", etags["invoice"], "pdf")
    assert invoice.etag == etags["invoice"] and invoice.size == len(NOT_A_PDF)
    assert invoice.reason is not None and invoice.reason.startswith("not a PDF (starts with 'PK\\x03\\x04"), (
        invoice.reason
    )
    assert (invoice.quarantine_key, invoice.raw_key, invoice.job_id) == (kept, None, None)

    # S3: the bytes in quarantine, nothing in the raw layer; Textract never saw the file.
    assert await aws.read_object(bucket, kept) == NOT_A_PDF
    listed = await aws.call("s3", "list_objects_v2", Bucket=bucket, Prefix=f"raw/{shipment}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [raw_key(shipment, "customs", etags["customs"])]
    assert textract.jobs_for(bucket, inbound_key(shipment, "invoice")) == []
    assert len(textract.jobs_for(bucket, raw_key(shipment, "customs", etags["customs"]))) == 1

    # The workflow: the invoice refused with the reason, waiting for a replacement.
    by_type = {d.doc_type: d for d in status.documents}
    assert (by_type["invoice"].status, by_type["invoice"].reason) == ("refused", invoice.reason)
    assert by_type["customs"].status == "accepted"
    assert (status.status, status.missing) == ("RECEIVING", ["invoice"])
    analyses = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == START_ANALYSIS.name
    ]
    assert len(analyses) == 1  # the customs declaration's only
