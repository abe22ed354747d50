"""A worker SIGKILLed while Textract is starting a shipment's document analyses: after a restart
each start is retried with the same ClientRequestToken, so every document has one Textract job,
not two, and the shipment still completes with one row per document and field and one
consolidated record in S3."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.consolidate import processed_key
from activities.documents.contracts import START_ANALYSIS, ShipmentResult, shipment_workflow_id
from activities.documents.fields import RULES
from activities.documents.screen import raw_key
from activities.documents.textract import staging_prefix
from activities.models.documents import Shipment, ShipmentDocument, ShipmentField
from tests.support.documents import fast_poll, upload_demo
from tests.support.processes import stack_env, start_worker
from tests.support.step_control import wait_waiting
from worker.devstack.emulators.textract import TextractEmulator
from worker.devstack.processes import free_port
from worker.settings import Settings

pytestmark = pytest.mark.fault

DOC_TYPES = ("invoice", "customs")
START_LATENCY_SECONDS = 10.0
"""Textract creates the job at once but answers this much later: the worker dies in between,
so the start activity never completes and must run again after the restart. Long enough that
both documents' jobs exist before either answer (their screens run side by side)."""
POLL_SECONDS = 0.2


async def test_a_worker_killed_while_textract_starts_leaves_one_job_per_document(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    emulators: Any,
    tmp_path: Path,
) -> None:
    textract: TextractEmulator = emulators.state.textract
    # The shipment's input is built from the uploader's settings: poll Textract fast.

    def worker_env() -> dict[str, str]:
        # stack_env copies os.environ, where the emulators fixture put AWS_ENDPOINT_URL_TEXTRACT
        # and _COMPREHEND: the worker process reaches the same emulators as this test reads.
        return stack_env(
            dev_env,
            settings,
            STEPWISE_DOCUMENTS__ANALYSIS_POLL_SECONDS=str(POLL_SECONDS),
            STEPWISE_WORKER__HEALTH_PORT=str(free_port()),
            STEPWISE_WORKER__METRICS_PORT=str(free_port()),
        )

    shipment = f"SHP-KILL-{uuid.uuid4().hex[:8]}"
    handle = dev_env.client.get_workflow_handle(shipment_workflow_id(shipment), result_type=ShipmentResult)
    bucket = resources.documents_bucket
    textract.reset()
    textract.configure_jobs(start_latency_seconds=START_LATENCY_SECONDS)
    log = tmp_path / "worker.log"
    first = start_worker(worker_env(), str(log))
    second = None
    try:
        arrivals = await upload_demo(dev_env.client, aws, resources, fast_poll(settings, POLL_SECONDS), shipment)
        keys = {doc_type: raw_key(shipment, doc_type, arrival.etag) for doc_type, arrival in arrivals.items()}

        deadline = time.monotonic() + 60
        while not all(textract.jobs_for(bucket, key) for key in keys.values()):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        first.kill()  # SIGKILL while both StartDocumentAnalysis calls wait for their answer
        await asyncio.to_thread(first.wait, 10)
        # Both jobs exist and nothing has polled them yet: the kill landed mid-extraction (the
        # history below shows that both starts were interrupted).
        assert all(job["JobStatus"] == "IN_PROGRESS" for key in keys.values() for job in textract.jobs_for(bucket, key))

        textract.configure_jobs(start_latency_seconds=0)
        second = start_worker(worker_env(), str(log))
        # The retried starts wait for the dead attempts' start-to-close timeout (30 s) first.
        await wait_waiting(handle, "review:invoice", timeout=150)
        await handle.execute_update(
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
        result = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        textract.reset()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()

    assert result.status == "COMPLETE", log.read_text()[-3000:]

    # Textract: one job per document, the one the pipeline recorded and read its analysis from.
    job_ids: dict[str, str] = {}
    for doc_type, key in keys.items():
        jobs = textract.jobs_for(bucket, key)
        assert len(jobs) == 1, (doc_type, jobs)
        job_ids[doc_type] = jobs[0]["JobId"]
        etag = result.documents[doc_type]
        staged = json.loads(await aws.read_object(bucket, staging_prefix(shipment, doc_type, etag) + "textract.json"))
        assert staged["JobId"] == job_ids[doc_type]

    # The kill interrupted both starts, which then ran again: without the ClientRequestToken
    # each retry would have started a second job, and the count above would be two.
    history = await handle.fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == START_ANALYSIS.name
    }
    assert len(scheduled) == len(DOC_TYPES)
    retried = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
        and e.activity_task_started_event_attributes.attempt > 1
    ]
    assert len(retried) == len(DOC_TYPES), "the kill should have interrupted both starts, which then ran again"

    # Postgres: one row per document (with that job) and one per required field, complete.
    async with sessions() as session:
        row = await session.get(Shipment, shipment)
        documents = (
            await session.scalars(select(ShipmentDocument).where(ShipmentDocument.shipment_id == shipment))
        ).all()
        fields = (await session.scalars(select(ShipmentField).where(ShipmentField.shipment_id == shipment))).all()
    assert row is not None and row.status == "COMPLETE" and row.processed_key == processed_key(shipment)
    assert sorted(d.doc_type for d in documents) == sorted(DOC_TYPES)
    for document in documents:
        assert (document.status, document.job_id, document.raw_key) == (
            "ACCEPTED",
            job_ids[document.doc_type],
            keys[document.doc_type],
        )
    for doc_type in DOC_TYPES:
        names = [f.name for f in fields if f.doc_type == doc_type]
        assert sorted(names) == sorted(rule.name for rule in RULES[doc_type]), doc_type
    company = next(f for f in fields if f.name == "billing_company")
    assert (company.value, company.provenance, company.reviewed_by) == ("Northwind Traders Ltd", "reviewed", "ada")

    # S3: the consolidated record, once.
    listed = await aws.call("s3", "list_objects_v2", Bucket=bucket, Prefix=f"processed/{shipment}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [processed_key(shipment)]
    record = json.loads(await aws.read_object(bucket, processed_key(shipment)))
    assert record["shipment_id"] == shipment and record["status"] == "COMPLETE"
    assert {doc_type: len(values) for doc_type, values in record["fields"].items()} == {
        doc_type: len(RULES[doc_type]) for doc_type in DOC_TYPES
    }
