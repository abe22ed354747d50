"""Record the shipment histories replayed by tests/workflows/documents/test_documents_replay.py.

    .venv/bin/python -m tests.histories.record_documents [SCENARIO ...]

Runs ShipmentWorkflow on the time-skipping server with the name-matched mock activities
(``tests.workflows.documents.mocks``; the histories have the same shape as with real ones),
its documents delivered by signal-with-start as the intake delivers them, and writes one JSON
file per scenario (every scenario when none is named):

* ``shipment_reviewed_and_consolidated``: both documents arrive, the invoice's billing company
  is below the confidence threshold, a reviewer approves the ``review:invoice`` form with a
  corrected answer, and the shipment is consolidated;
* ``shipment_document_rejected_then_replaced``: a reviewer rejects the invoice at
  ``review:invoice``, the shipment goes back to collect, a replacement invoice arrives and the
  shipment completes;
* ``shipment_waited_reminded_escalated``: only the invoice arrives, the ``collect`` wait
  reminds (4 h) and escalates (24 h), then the customs form arrives and the shipment completes;
* ``shipment_extraction_parked_and_retried``: Textract is throttled until the ``analyse:<type>``
  steps run out of retries and park, an operator retries both, and the shipment completes.

Re-record only when a workflow change is meant to be incompatible; where executions may be
running, guard the change with ``workflow.patched`` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.common.contracts import AttentionPolicy
from activities.documents.contracts import ShipmentInput, shipment_workflow_id
from tests.histories.recording import Scenario, main
from tests.support.documents import (
    HOUR,
    OPERATOR,
    REVIEWER,
    ShipmentHandle,
    arrival_of,
    arrive,
    decide,
    eventually_status,
    new_shipment,
    shipment_worker,
)
from tests.support.step_control import wait_waiting
from tests.support.waiting import eventually
from tests.workflows.documents.mocks import MockDocuments

Story = Callable[[WorkflowEnvironment, str, ShipmentInput, MockDocuments], Awaitable[ShipmentHandle]]
"""One scenario's part: deliver the arrivals and decisions; returns the shipment's handle."""


def recorded_shipment_id(name: str) -> str:
    """The shipment id a scenario is recorded under."""
    return f"{name.removeprefix('shipment_').replace('_', '-')}-recorded"


def recorded_shipment(name: str, **changes: Any) -> ShipmentInput:
    """The workflow input a scenario is recorded with (the workflow tests' defaults)."""
    return new_shipment(shipment_id=recorded_shipment_id(name), **changes)


async def _record(env: WorkflowEnvironment, name: str, mocks: MockDocuments, story: Story, **changes: Any) -> str:
    """Run one shipment through ``story`` to its completion; its history as JSON."""
    queue = f"record-{uuid.uuid4()}"
    shipment = recorded_shipment(name, **changes)
    async with shipment_worker(env, queue, mocks):
        handle = await story(env, queue, shipment, mocks)
        result = await handle.result()
    assert result.status == "COMPLETE", result
    assert handle.id == RECORDED_WORKFLOW_IDS[name]
    return (await handle.fetch_history()).to_json()


async def _both_documents(env: WorkflowEnvironment, queue: str, shipment: ShipmentInput) -> ShipmentHandle:
    return await arrive(
        env, queue, shipment, arrival_of(shipment, "invoice", "etag-inv"), arrival_of(shipment, "customs", "etag-cus")
    )


async def reviewed_and_consolidated(env: WorkflowEnvironment) -> str:
    async def story(env: WorkflowEnvironment, queue: str, shipment: ShipmentInput, _: MockDocuments) -> ShipmentHandle:
        handle = await _both_documents(env, queue, shipment)
        await wait_waiting(handle, "review:invoice")
        answers = {"billing_company": "Northwind Traders Ltd"}
        await decide(handle, "review:invoice", "approve", REVIEWER, "checked against the invoice", answers=answers)
        return handle

    mocks = MockDocuments(to_review={"etag-inv": ["billing_company"]})
    return await _record(env, "shipment_reviewed_and_consolidated", mocks, story)


async def document_rejected_then_replaced(env: WorkflowEnvironment) -> str:
    async def story(env: WorkflowEnvironment, queue: str, shipment: ShipmentInput, _: MockDocuments) -> ShipmentHandle:
        handle = await _both_documents(env, queue, shipment)
        await wait_waiting(handle, "review:invoice")
        await decide(handle, "review:invoice", "reject", REVIEWER, "this is the pro-forma, not the invoice")
        await eventually_status(handle, lambda s: s.status == "RECEIVING" and s.missing == ["invoice"])
        await arrive(env, queue, shipment, arrival_of(shipment, "invoice", "etag-inv-2"))
        return handle

    mocks = MockDocuments(to_review={"etag-inv": ["billing_company", "total"]})
    return await _record(env, "shipment_document_rejected_then_replaced", mocks, story)


async def waited_reminded_escalated(env: WorkflowEnvironment) -> str:
    async def story(
        env: WorkflowEnvironment, queue: str, shipment: ShipmentInput, mocks: MockDocuments
    ) -> ShipmentHandle:
        handle = await arrive(env, queue, shipment, arrival_of(shipment, "invoice", "etag-inv"))
        await eventually_status(handle, lambda s: s.documents[0].status == "received")
        await env.sleep(timedelta(hours=25))  # the customs form does not come for a day
        await eventually(lambda: len(mocks.notices) == 2)  # reminded, then escalated
        await arrive(env, queue, shipment, arrival_of(shipment, "customs", "etag-cus"))
        return handle

    missing = AttentionPolicy(remind_after_seconds=4 * HOUR, escalate_after_seconds=24 * HOUR)
    return await _record(env, "shipment_waited_reminded_escalated", MockDocuments(), story, missing=missing)


async def extraction_parked_and_retried(env: WorkflowEnvironment) -> str:
    async def story(
        env: WorkflowEnvironment, queue: str, shipment: ShipmentInput, mocks: MockDocuments
    ) -> ShipmentHandle:
        handle = await _both_documents(env, queue, shipment)
        await wait_waiting(handle, "analyse:invoice")
        await wait_waiting(handle, "analyse:customs")
        mocks.throttled = False  # the fault clears
        await decide(handle, "analyse:invoice", "retry", OPERATOR, "Textract quota raised")
        await decide(handle, "analyse:customs", "retry", OPERATOR, "Textract quota raised")
        return handle

    mocks = MockDocuments(throttled=True, analysis_polls=2)
    return await _record(env, "shipment_extraction_parked_and_retried", mocks, story)


SCENARIOS: dict[str, Scenario] = {
    "shipment_reviewed_and_consolidated": reviewed_and_consolidated,
    "shipment_document_rejected_then_replaced": document_rejected_then_replaced,
    "shipment_waited_reminded_escalated": waited_reminded_escalated,
    "shipment_extraction_parked_and_retried": extraction_parked_and_retried,
}

RECORDED_WORKFLOW_IDS = {name: shipment_workflow_id(recorded_shipment_id(name)) for name in SCENARIOS}
"""The workflow id of each recorded history (the replay runs it under the same id)."""


if __name__ == "__main__":
    main(SCENARIOS)
