"""Shipment document operations shared by the API and the CLI.

Uploading writes the document to ``documents-inbound/<shipment>/<type>.pdf`` and delivers its
arrival to the shipment's workflow (``shipment-<id>``) with signal-with-start, exactly as the
S3 event of a plain drop does through the intake; the same bytes uploaded twice have the same
ETag and change nothing. A partner's first upload records it as the shipment's owner (a row
in ``shipments``), so another partner can neither read nor add to it. Status comes from
Postgres (documents, fields and their provenance) and, while the shipment runs, from the
workflow's status query (what it waits for).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.contracts import (
    DOCUMENT_TYPES,
    DocumentArrival,
    inbound_key,
    shipment_workflow_id,
)
from activities.models.documents import Shipment, ShipmentDocument, ShipmentField
from worker.documents_intake import shipment_input, signal_shipment
from worker.settings import Settings, partner_namespace
from workflows.documents.shipment import STATUS_QUERY, ShipmentStatus

PDF_MAGIC = b"%PDF-"
STATUS_QUERY_SECONDS = 5.0
"""How long status waits for a worker to answer the shipment's status query."""


class DocumentRefused(ValueError):
    """An upload refused at the edge; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def check_document(data: bytes, max_bytes: int) -> None:
    """Refuse what can never be a shipment document: empty, too large, not a PDF."""
    if not data:
        raise DocumentRefused("file", "is empty")
    if len(data) > max_bytes:
        raise DocumentRefused("file", f"is larger than {max_bytes} bytes", status=413)
    if not data.startswith(PDF_MAGIC):
        raise DocumentRefused("file", f"is not a PDF (it starts with {data[:8]!r}, a PDF with %PDF-)")


def starting_owner(shipment_id: str, partner: str | None, partners: Collection[str]) -> str | None:
    """Who owns a shipment when the caller starts it: a partner itself; for an operator, the
    configured partner whose namespace the id is in (``acme.SHP-1`` is acme's, so acme reaches
    it), else nobody."""
    return partner if partner is not None else partner_namespace(shipment_id, partners)


async def claim(sessions: SessionMaker, shipment_id: str, owner: str | None, *, any_shipment: bool = False) -> bool:
    """Record ``owner`` as the shipment's owner if it is new; True when the caller may add to it.

    An operator (``any_shipment``) may add to any shipment; a partner only to one it started.
    """
    async with sessions() as session, session.begin():
        await session.execute(
            insert(Shipment)
            .values(shipment_id=shipment_id, partner=owner, status="RECEIVING")
            .on_conflict_do_nothing(index_elements=["shipment_id"])
        )
        recorded = await session.scalar(select(Shipment.partner).where(Shipment.shipment_id == shipment_id))
    return any_shipment or recorded == owner


async def is_complete(sessions: SessionMaker, shipment_id: str) -> bool:
    """True once the shipment is consolidated (a document for it would change nothing)."""
    async with sessions() as session:
        status = await session.scalar(select(Shipment.status).where(Shipment.shipment_id == shipment_id))
    return status == "COMPLETE"


async def owner_of(sessions: SessionMaker, shipment_id: str) -> tuple[bool, str | None]:
    """``(exists, partner)`` of a shipment's row."""
    async with sessions() as session:
        row = (await session.execute(select(Shipment.partner).where(Shipment.shipment_id == shipment_id))).first()
    return (row is not None, None if row is None else row[0])


async def upload(
    aws: AwsClients,
    client: Client,
    settings: Settings,
    resources: Resources,
    shipment_id: str,
    doc_type: str,
    data: bytes,
    submitted_by: str | None,
    task_queue: str,
) -> tuple[DocumentArrival, bool]:
    """Store the document and deliver its arrival; ``(arrival, delivered)``.

    ``delivered`` is False when the shipment was already complete (nothing is started again).
    """
    key = inbound_key(shipment_id, doc_type)
    put = await aws.call(
        "s3", "put_object", Bucket=resources.documents_bucket, Key=key, Body=data, ContentType="application/pdf"
    )
    arrival = DocumentArrival(
        shipment_id=shipment_id,
        doc_type=doc_type,
        key=key,
        etag=str(put["ETag"]).strip('"'),
        size=len(data),
        extension="pdf",
        submitted_by=submitted_by or "",
    )
    delivered = await signal_shipment(client, shipment_input(settings, shipment_id), arrival, task_queue)
    return arrival, delivered


@dataclass(frozen=True)
class FieldView:
    """One field of a document with its provenance."""

    name: str
    label: str
    value: str | None
    provenance: str
    """``extracted, 0.98 (form key "Invoice No" (page 1))`` or ``reviewed by ada (corrected)``."""
    confidence: float | None
    source: str
    extracted_value: str | None
    reviewed_by: str | None
    review: str | None


@dataclass(frozen=True)
class DocumentView:
    """One arrival of a document."""

    doc_type: str
    etag: str
    status: str
    reason: str | None
    size: int | None
    """Bytes; None for a document the workflow has taken whose arrival row is not written yet."""
    decided_by: str | None
    quarantine_key: str | None
    fields: list[FieldView] = field(default_factory=list)


@dataclass(frozen=True)
class ShipmentView:
    """A shipment as its partner and the operators see it."""

    shipment_id: str
    workflow_id: str
    status: str
    owner: str | None
    missing: list[str]
    """Required types the shipment still waits for (from the running workflow)."""
    waiting: list[str]
    """Steps waiting for a person (``review:invoice``)."""
    processed_key: str | None
    documents: list[DocumentView]
    created_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """JSON-ready (timestamps as ISO strings)."""
        data = asdict(self)
        for name in ("created_at", "completed_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


def provenance(row: ShipmentField) -> str:
    """One line saying where a field's value comes from."""
    if row.provenance == "reviewed":
        return f"reviewed by {row.reviewed_by} ({row.review})"
    confidence = "not found" if row.confidence is None else f"{row.confidence:.3f}".rstrip("0").rstrip(".")
    return f"extracted, {confidence}" + (f" ({row.source})" if row.source else "")


async def shipment_view(sessions: SessionMaker, client: Client, shipment_id: str) -> ShipmentView | None:
    """The shipment's status, documents and fields; None when nothing is known of it.

    The workflow is asked first: a step commits its rows (a document IN_REVIEW with its
    fields, the shipment COMPLETE) before the workflow's status moves past it, so the rows
    read afterwards are never older than the status shown (read the other way round, a view
    could wait for ``review:invoice`` beside an invoice with no fields yet).
    """
    live, failure = await _live_status(client, shipment_id)
    async with sessions() as session:
        shipment = await session.get(Shipment, shipment_id)
        documents = (
            await session.scalars(
                select(ShipmentDocument)
                .where(ShipmentDocument.shipment_id == shipment_id)
                .order_by(ShipmentDocument.received_at, ShipmentDocument.id)
            )
        ).all()
        fields = (
            await session.scalars(
                select(ShipmentField).where(ShipmentField.shipment_id == shipment_id).order_by(ShipmentField.id)
            )
        ).all()
    if shipment is None and live is None:
        return None
    by_document: dict[int, list[FieldView]] = {}
    for row in fields:
        by_document.setdefault(row.document_id, []).append(
            FieldView(
                name=row.name,
                label=row.label,
                value=row.value,
                provenance=provenance(row),
                confidence=row.confidence,
                source=row.source,
                extracted_value=row.extracted_value,
                reviewed_by=row.reviewed_by,
                review=row.review,
            )
        )
    views = [
        DocumentView(
            doc_type=document.doc_type,
            etag=document.etag,
            status=document.status,
            reason=document.reason,
            size=document.size,
            decided_by=document.decided_by,
            quarantine_key=document.quarantine_key,
            fields=by_document.get(document.id, []),
        )
        for document in documents
    ]
    # The workflow takes a document when its signal arrives and writes the arrival's row in the
    # step after, so for that moment the type is no longer missing and has no row yet: it is
    # shown as the RECEIVED row it is about to be, not left out of both lists.
    written = {(document.doc_type, document.etag) for document in documents}
    if live is not None:
        views += [
            DocumentView(
                doc_type=d.doc_type,
                etag=d.etag,
                status="RECEIVED",
                reason=None,
                size=None,
                decided_by=None,
                quarantine_key=None,
            )
            for d in live.documents
            if d.status == "received" and (d.doc_type, d.etag) not in written
        ]
    order = {name: index for index, name in enumerate(DOCUMENT_TYPES)}
    views.sort(key=lambda view: order.get(view.doc_type, len(order)))
    status = shipment.status if shipment is not None else "RECEIVING"
    if live is not None and status != "COMPLETE":
        status = live.status
    # The rows may be newer than the workflow's answer: a review decided (or the shipment
    # completed) since then is no longer waited for. The newest row of a type counts.
    row_status = {document.doc_type: document.status for document in documents}
    waiting = (
        [
            f"review:{d.doc_type}"
            for d in live.documents
            if d.status == "in_review" and row_status.get(d.doc_type, "IN_REVIEW") == "IN_REVIEW"
        ]
        if live is not None and status != "COMPLETE"
        else []
    )
    if failure is not None:
        status = "FAILED"
    return ShipmentView(
        shipment_id=shipment_id,
        workflow_id=shipment_workflow_id(shipment_id),
        status=status,
        owner=shipment.partner if shipment is not None else None,
        missing=list(live.missing) if live is not None and status != "COMPLETE" else [],
        waiting=waiting,
        processed_key=shipment.processed_key if shipment is not None else None,
        documents=views,
        created_at=shipment.created_at if shipment is not None else None,
        completed_at=shipment.completed_at if shipment is not None else None,
        reason=failure,
    )


async def _live_status(client: Client, shipment_id: str) -> tuple[ShipmentStatus | None, str | None]:
    """The running workflow's status query, and why it failed if it did."""
    handle = client.get_workflow_handle(shipment_workflow_id(shipment_id))
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None, None
        raise
    if described.status == WorkflowExecutionStatus.FAILED:
        return None, "the shipment's workflow failed (see `stepwise attention` or the Temporal UI)"
    if described.status != WorkflowExecutionStatus.RUNNING:
        return None, None
    try:
        live: ShipmentStatus = await asyncio.wait_for(
            handle.query(STATUS_QUERY, result_type=ShipmentStatus), STATUS_QUERY_SECONDS
        )
    except (TimeoutError, RPCError):  # no worker answered in time: Postgres still tells most of it
        return None, None
    return live, None
