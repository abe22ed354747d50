"""The shipment view never pairs a newer workflow status with older Postgres rows.

The check step commits the document IN_REVIEW with its fields (and consolidation the
shipment COMPLETE), then the workflow's status moves on. A view that read the rows before
asking the workflow could land between the two: waiting for ``review:invoice`` beside an
invoice with no fields, or a finished workflow beside a shipment still EXTRACTING. Here
the step commits while the view is asking the workflow, the moment that tore the view.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, update
from temporalio.client import WorkflowExecutionStatus

from activities.common.db import SessionMaker
from activities.documents.contracts import DocumentState, inbound_key
from activities.models.documents import Shipment, ShipmentDocument, ShipmentField
from tests.support.stub_temporal import Described, GoneWorkflow, OneWorkflowClient
from worker.services.documents import shipment_view
from workflows.documents.shipment import STATUS_QUERY, ShipmentStatus

ETAG = "etag-invoice-1"


async def _extracting(sessions: SessionMaker, shipment_id: str) -> None:
    """A shipment extracting its invoice: the document RECEIVED, no fields yet."""
    async with sessions.begin() as session:
        session.add(Shipment(shipment_id=shipment_id, partner="partner-a", status="EXTRACTING"))
        await session.flush()
        session.add(
            ShipmentDocument(
                shipment_id=shipment_id,
                doc_type="invoice",
                etag=ETAG,
                source_key=inbound_key(shipment_id, "invoice"),
                status="RECEIVED",
                size=1024,
            )
        )


class _RunningShipment:
    """A shipment's workflow handle that is still running; subclasses commit rows mid-view."""

    def __init__(self, sessions: SessionMaker, shipment_id: str) -> None:
        self._sessions = sessions
        self._shipment_id = shipment_id

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING)


class _CheckingMidQuery(_RunningShipment):
    """A running shipment whose check step commits just before the workflow says IN_REVIEW."""

    async def query(self, name: str, result_type: type) -> Any:
        assert name == STATUS_QUERY
        async with self._sessions.begin() as session:
            document_id = await session.scalar(
                update(ShipmentDocument)
                .where(ShipmentDocument.shipment_id == self._shipment_id, ShipmentDocument.doc_type == "invoice")
                .values(status="IN_REVIEW")
                .returning(ShipmentDocument.id)
            )
            assert document_id is not None
            session.add(
                ShipmentField(
                    document_id=document_id,
                    shipment_id=self._shipment_id,
                    doc_type="invoice",
                    name="invoice_number",
                    label="Invoice number",
                    kind="text",
                    value=None,
                    extracted_value=None,
                    confidence=None,
                    source="",
                    provenance="extracted",
                )
            )
            await session.execute(
                update(Shipment).where(Shipment.shipment_id == self._shipment_id).values(status="IN_REVIEW")
            )
        return ShipmentStatus(
            shipment_id=self._shipment_id,
            status="IN_REVIEW",
            documents=[DocumentState("invoice", "in_review", ETAG)],
            missing=[],
        )


class _ConsolidatingMidDescribe(_RunningShipment):
    """A shipment whose consolidation commits just before Temporal reports it COMPLETED."""

    async def describe(self) -> Described:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Shipment)
                .where(Shipment.shipment_id == self._shipment_id)
                .values(
                    status="COMPLETE",
                    processed_key=f"processed/{self._shipment_id}/shipment.json",
                    completed_at=func.now(),
                )
            )
            await session.execute(
                update(ShipmentDocument)
                .where(ShipmentDocument.shipment_id == self._shipment_id)
                .values(status="ACCEPTED")
            )
        return Described(WorkflowExecutionStatus.COMPLETED)


class _DecidedAfterTheAnswer(_RunningShipment):
    """A shipment that answers "in review", then the review is decided and the shipment completes."""

    async def query(self, name: str, result_type: type) -> Any:
        answer = ShipmentStatus(
            shipment_id=self._shipment_id,
            status="IN_REVIEW",
            documents=[DocumentState("invoice", "in_review", ETAG)],
            missing=[],
        )
        async with self._sessions.begin() as session:
            await session.execute(
                update(ShipmentDocument)
                .where(ShipmentDocument.shipment_id == self._shipment_id)
                .values(status="ACCEPTED", decided_by="ada")
            )
            await session.execute(
                update(Shipment).where(Shipment.shipment_id == self._shipment_id).values(status="COMPLETE")
            )
        return answer


class _TakenBeforeItsRow(_RunningShipment):
    """A shipment whose workflow has taken an invoice (on its signal) but not yet written its row;
    with ``written`` the row is committed while the workflow answers, as the next step does."""

    def __init__(self, sessions: SessionMaker, shipment_id: str, *, written: bool) -> None:
        super().__init__(sessions, shipment_id)
        self._written = written

    async def query(self, name: str, result_type: type) -> Any:
        if self._written:
            await _extracting(self._sessions, self._shipment_id)
        return ShipmentStatus(
            shipment_id=self._shipment_id,
            status="RECEIVING",
            documents=[DocumentState("invoice", "received", ETAG), DocumentState("customs", "missing", "")],
            missing=["customs"],
        )


def _shipment_id() -> str:
    return f"ship-view-{uuid.uuid4().hex[:8]}"


async def test_a_document_in_review_comes_with_its_fields(sessions: SessionMaker) -> None:
    shipment_id = _shipment_id()
    await _extracting(sessions, shipment_id)
    view = await shipment_view(sessions, OneWorkflowClient(_CheckingMidQuery(sessions, shipment_id)), shipment_id)  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.waiting) == ("IN_REVIEW", ["review:invoice"])
    [invoice] = view.documents
    assert (invoice.status, [f.name for f in invoice.fields]) == ("IN_REVIEW", ["invoice_number"])


async def test_a_completed_workflow_comes_with_the_complete_shipment(sessions: SessionMaker) -> None:
    shipment_id = _shipment_id()
    await _extracting(sessions, shipment_id)
    view = await shipment_view(
        sessions, OneWorkflowClient(_ConsolidatingMidDescribe(sessions, shipment_id)), shipment_id
    )  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.processed_key, [d.status for d in view.documents]) == (
        "COMPLETE",
        f"processed/{shipment_id}/shipment.json",
        ["ACCEPTED"],
    )
    assert view.completed_at is not None


async def test_a_shipment_neither_temporal_nor_postgres_knows_is_none(sessions: SessionMaker) -> None:
    assert await shipment_view(sessions, OneWorkflowClient(GoneWorkflow()), _shipment_id()) is None  # type: ignore[arg-type]


async def test_a_finished_shipment_gone_from_temporal_is_read_from_postgres(sessions: SessionMaker) -> None:
    shipment_id = _shipment_id()
    async with sessions.begin() as session:
        session.add(
            Shipment(
                shipment_id=shipment_id,
                partner="partner-a",
                status="COMPLETE",
                processed_key=f"processed/{shipment_id}/shipment.json",
                completed_at=func.now(),
            )
        )
    view = await shipment_view(sessions, OneWorkflowClient(GoneWorkflow()), shipment_id)  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.owner, view.missing, view.waiting, view.reason, view.processed_key) == (
        "COMPLETE",
        "partner-a",
        [],
        [],
        None,
        f"processed/{shipment_id}/shipment.json",
    )


async def test_a_review_decided_after_the_workflow_answered_is_no_longer_waited_for(sessions: SessionMaker) -> None:
    shipment_id = _shipment_id()
    await _extracting(sessions, shipment_id)
    view = await shipment_view(sessions, OneWorkflowClient(_DecidedAfterTheAnswer(sessions, shipment_id)), shipment_id)  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.waiting, [d.status for d in view.documents]) == ("COMPLETE", [], ["ACCEPTED"])


@pytest.mark.parametrize(
    ("written", "owner", "size"),
    [(False, None, None), (True, "partner-a", 1024)],
    ids=["taken before its row: shown as received", "row written while the workflow answers: shown once"],
)
async def test_a_document_the_workflow_has_taken_is_listed_once_received(
    sessions: SessionMaker, written: bool, owner: str | None, size: int | None
) -> None:
    shipment_id = _shipment_id()
    view = await shipment_view(
        sessions, OneWorkflowClient(_TakenBeforeItsRow(sessions, shipment_id, written=written)), shipment_id
    )  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.missing, view.owner) == ("RECEIVING", ["customs"], owner)
    assert [(d.doc_type, d.etag, d.status, d.size, d.fields) for d in view.documents] == [
        ("invoice", ETAG, "RECEIVED", size, [])
    ]
