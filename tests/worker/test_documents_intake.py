"""The documents intake against moto's S3 events and SQS and the dev server: a document dropped
under ``documents-inbound/<shipment>/<type>.<ext>`` by any S3 client reaches its shipment's
workflow with its ETag and size; a key that is not a shipment document is logged and its event
deleted; the same bytes dropped again signal the same run."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.contracts import DocumentArrival, DocumentState, shipment_workflow_id
from tests.conftest import make_deps
from tests.support.runner import TEST_RUNNER
from tests.support.world import QueueReader
from tests.workflows.documents.mocks import MockDocuments
from worker.documents_intake import DocumentsIntake, arrival_of, shipment_input
from worker.intake import InboundObject
from worker.settings import Settings
from workflows.catalog import WORKFLOWS
from workflows.documents.shipment import STATUS_QUERY, ShipmentStatus

PDF = b"%PDF-1.4\n% an invoice\n%%EOF\n"


def test_keys_name_their_shipment_type_and_extension() -> None:
    def arrival(key: str) -> DocumentArrival | None:
        return arrival_of(InboundObject("stepwise-documents", key, "0cc175b9c0f1b6a831c399e269772661", 812))

    assert arrival("documents-inbound/SHP-1/Invoice.PDF") == DocumentArrival(
        "SHP-1", "invoice", "documents-inbound/SHP-1/Invoice.PDF", "0cc175b9c0f1b6a831c399e269772661", 812, "pdf"
    )
    assert arrival("documents-inbound/SHP-1/packing_list.docx") is not None  # the workflow refuses it, with a reason
    assert arrival("documents-inbound/SHP-1/nested/invoice.pdf") is None
    assert arrival("documents-inbound/SHP-1/invoice") is None
    assert arrival("documents-inbound/readme.txt") is None
    assert arrival("documents-inbound/-bad/invoice.pdf") is None
    assert arrival("documents-inbound/acme.SHP-1/invoice.pdf") is not None  # a partner's shipment
    assert arrival("documents-inbound/SHP-1/in\x1b[31mvoice.pdf") is None  # names only: no escapes
    assert arrival("documents-inbound/SHP-1/invoice.p df") is None
    assert arrival("documents-inbound/a.b.SHP-1/invoice.pdf") is None


def test_the_shipment_input_comes_from_the_settings(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={
            "documents": settings.documents.model_copy(update={"confidence_threshold": 0.9, "missing_remind_hours": 2})
        }
    )
    shipment = shipment_input(tuned, "SHP-1")
    assert (shipment.shipment_id, shipment.required_types, shipment.confidence_threshold) == (
        "SHP-1",
        ["invoice", "customs"],
        0.9,
    )
    assert shipment.missing.remind_after_seconds == 7200.0
    assert shipment.review.escalate_after_seconds == 24 * 3600.0


async def _depth(aws: AwsClients, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = (await aws.call("sqs", "get_queue_attributes", QueueUrl=queue_url, AttributeNames=names))["Attributes"]
    return sum(int(attributes[name]) for name in names)


async def _poll(intake: DocumentsIntake, messages: int) -> None:
    deleted = 0
    for _ in range(20):
        deleted += await intake.poll_once()
        if deleted >= messages:
            return
    raise AssertionError(f"only {deleted} of {messages} events handled")


async def test_a_document_dropped_by_any_s3_client_reaches_its_shipment_and_stray_keys_are_deleted(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
) -> None:
    queue_url = await aws.queue_url(resources.documents_intake_queue)
    await QueueReader(aws, queue_url).drain()
    shipment = f"SHP-{time.monotonic_ns()}"
    bucket = resources.documents_bucket
    key = f"documents-inbound/{shipment}/invoice.pdf"
    await aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=PDF)
    await aws.call("s3", "put_object", Bucket=bucket, Key=f"documents-inbound/{shipment}/scans/page1.pdf", Body=PDF)
    await aws.call("s3", "put_object", Bucket=bucket, Key="documents-inbound/readme.txt", Body=b"drop PDFs here")
    etag = (await aws.call("s3", "head_object", Bucket=bucket, Key=key))["ETag"].strip('"')
    mocks = MockDocuments()
    async with aiohttp.ClientSession() as http:
        deps = make_deps(dev_env.client, sessions, resources, aws, http, settings)
        intake = DocumentsIntake(dev_env.client, settings, deps)
        intake.wait_seconds = 0
        await _poll(intake, 3)  # the stray keys' events are deleted too: nothing would ever take them
        assert await _depth(aws, queue_url) == 0
        handle = dev_env.client.get_workflow_handle(shipment_workflow_id(shipment))
        described = await handle.describe()
        assert described.status == WorkflowExecutionStatus.RUNNING
        assert described.typed_search_attributes.get(search_attributes.PIPELINE) == "documents"
        assert described.typed_search_attributes.get(search_attributes.BUSINESS_KEY) == shipment
        async with Worker(
            dev_env.client,
            task_queue=settings.worker.task_queue,
            workflows=WORKFLOWS,
            activities=mocks.activities(),
            workflow_runner=TEST_RUNNER,
        ):
            status: ShipmentStatus = await handle.query(STATUS_QUERY, result_type=ShipmentStatus)
            assert status.documents == [DocumentState("invoice", "received", etag), DocumentState("customs", "missing")]
            # The same bytes dropped again reach the same run, and change nothing.
            await aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=PDF)
            await _poll(intake, 1)
            for _ in range(50):
                status = await handle.query(STATUS_QUERY, result_type=ShipmentStatus)
                if status.ignored:
                    break
                await asyncio.sleep(0.1)
        assert (await handle.describe()).run_id == described.run_id
        await handle.terminate("test done")

    [arrival] = [call.arg.arrival for call in mocks.calls]
    assert (arrival.key, arrival.etag, arrival.size, arrival.extension) == (key, etag, len(PDF), "pdf")
    assert [(i.etag, i.outcome) for i in status.ignored] == [(etag, "ignored")]
    assert status.documents[0] == DocumentState("invoice", "received", etag)


async def test_an_unreadable_event_is_left_for_the_dead_letter_queue_which_operators_read(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    api: httpx.AsyncClient,
) -> None:
    queue_url = await aws.queue_url(resources.documents_intake_queue)
    dlq_url = await aws.queue_url(resources.documents_intake_dlq)
    for url in (queue_url, dlq_url):
        await QueueReader(aws, url).drain()
    await aws.call("sqs", "send_message", QueueUrl=queue_url, MessageBody="not an S3 event")
    async with aiohttp.ClientSession() as http:
        intake = DocumentsIntake(
            dev_env.client, settings, make_deps(dev_env.client, sessions, resources, aws, http, settings)
        )
        intake.wait_seconds = 0
        assert await intake.poll_once() == 0  # not deleted: SQS moves it on after its receives
    assert await _depth(aws, queue_url) == 1
    await aws.call("sqs", "purge_queue", QueueUrl=queue_url)  # the one purge of this queue in the file

    # What SQS's redrive policy then does, and what an operator sees of it.
    await aws.call("sqs", "send_message", QueueUrl=dlq_url, MessageBody="not an S3 event")
    listed = (await api.get("/dead-letters/documents-intake")).json()
    [letter] = listed["items"]
    assert letter["queue"] == resources.documents_intake_dlq and letter["body"] == {"raw": "not an S3 event"}
    assert not letter["redrivable"] and "upload it again" in letter["not_redrivable_because"]
    await QueueReader(aws, dlq_url).drain()
