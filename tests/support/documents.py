"""What the shipment documents tests share.

* On the embedded stack: settings with a fast Textract poll (a shipment's input is built from
  the uploader's settings) and the demo documents uploaded as an operator does (the API's and
  the CLI's path: the object written, the shipment told by signal-with-start).
* On the time-skipping server, with :class:`tests.workflows.documents.mocks.MockDocuments`: a
  shipment, its arrivals as the intake delivers them, a worker, the status query and decisions
  (used by the workflow tests and the history recorder alike).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.resources import Resources
from activities.documents.contracts import DocumentArrival, ShipmentInput, ShipmentResult, shipment_workflow_id
from tests.support.runner import catalog_worker
from worker.devstack.shipment_demo import demo_documents
from worker.documents_intake import signal_shipment
from worker.services import documents as service
from worker.settings import Settings
from workflows.documents.shipment import STATUS_QUERY, ShipmentStatus

if TYPE_CHECKING:
    from tests.workflows.documents.mocks import MockDocuments

HOUR = 3600.0
REVIEWER = "reviewer-rita"
OPERATOR = "ops-anna"
FAST_POLL_SECONDS = 0.2

ShipmentHandle = WorkflowHandle[Any, ShipmentResult]

# ----- on the embedded stack ----------------------------------------------------------------


def fast_poll(settings: Settings, seconds: float = FAST_POLL_SECONDS) -> Settings:
    """The settings with Textract polled every ``seconds``."""
    documents = settings.documents.model_copy(update={"analysis_poll_seconds": seconds})
    return settings.model_copy(update={"documents": documents})


async def upload_demo(
    client: Client,
    aws: AwsClients,
    resources: Resources,
    settings: Settings,
    shipment: str,
    doc_types: Iterable[str] = ("invoice", "customs"),
) -> dict[str, DocumentArrival]:
    """The demo shipment's documents uploaded as an operator, each delivered; their arrivals."""
    arrivals: dict[str, DocumentArrival] = {}
    for doc_type in doc_types:
        arrival, delivered = await service.upload(
            aws,
            client,
            settings,
            resources,
            shipment,
            doc_type,
            demo_documents()[doc_type],
            None,
            settings.worker.task_queue,
        )
        assert delivered, doc_type
        arrivals[doc_type] = arrival
    return arrivals


# ----- on the time-skipping server ----------------------------------------------------------


def new_shipment(**changes: Any) -> ShipmentInput:
    """A shipment of its own with a fast Textract poll."""
    shipment = ShipmentInput(f"SHP-{uuid.uuid4().hex[:10]}", analysis_poll_seconds=FAST_POLL_SECONDS)
    return replace(shipment, **changes)


def arrival_of(shipment: ShipmentInput, doc_type: str, etag: str, extension: str = "pdf") -> DocumentArrival:
    """An arrival of ``doc_type`` with ETag ``etag`` under the shipment's inbound folder."""
    key = f"documents-inbound/{shipment.shipment_id}/{doc_type}.{extension}"
    return DocumentArrival(shipment.shipment_id, doc_type, key, etag, 48_213, extension=extension)


def shipment_worker(
    env: WorkflowEnvironment, task_queue: str, mocks: MockDocuments
) -> AbstractAsyncContextManager[Worker]:
    """Every workflow, the mocks as the activities."""
    return catalog_worker(env, task_queue, mocks.activities())


async def arrive(
    env: WorkflowEnvironment, task_queue: str, shipment: ShipmentInput, *arrivals: DocumentArrival
) -> ShipmentHandle:
    """Deliver the arrivals as the intake does (signal-with-start); the shipment's handle."""
    for arrival in arrivals:
        assert await signal_shipment(env.client, shipment, arrival, task_queue)
    return env.client.get_workflow_handle(shipment_workflow_id(shipment.shipment_id), result_type=ShipmentResult)


async def shipment_status(handle: ShipmentHandle) -> ShipmentStatus:
    """The workflow's status query."""
    status: ShipmentStatus = await handle.query(STATUS_QUERY, result_type=ShipmentStatus)
    return status


async def eventually_status(handle: ShipmentHandle, check: Callable[[ShipmentStatus], bool]) -> ShipmentStatus:
    """Wait until the status query satisfies ``check``; that status."""
    deadline = asyncio.get_running_loop().time() + 10
    while not check(status := await shipment_status(handle)):
        assert asyncio.get_running_loop().time() < deadline, status
        await asyncio.sleep(0.05)
    return status


async def decide(handle: ShipmentHandle, step: str, action: str, operator: str, reason: str, **extra: Any) -> None:
    """Send a decision by update; it must be accepted, not a duplicate."""
    outcome = await handle.execute_update(
        DECIDE_UPDATE,
        StepDecision(step, action, operator=operator, reason=reason, **extra),
        result_type=DecisionOutcome,
    )
    assert (outcome.step, outcome.action, outcome.duplicate) == (step, action, False)
