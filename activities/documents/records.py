"""Upserts of the shipment documents rows shared by the pipeline's activities.

A document's row is keyed by (shipment, type, ETag): whichever step writes first creates it
(and the shipment's row), every later write updates it, so a retried step or one that runs
before the arrival was recorded writes the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.documents.contracts import inbound_key
from activities.models.documents import Shipment, ShipmentDocument


async def ensure_shipment(connection: AsyncConnection, shipment_id: str, partner: str | None = None) -> None:
    """The shipment's row, created RECEIVING if it is new (an existing row is left as it is)."""
    await connection.execute(
        insert(Shipment)
        .values(shipment_id=shipment_id, partner=partner or None, status="RECEIVING")
        .on_conflict_do_nothing(index_elements=[Shipment.shipment_id])
    )


async def set_shipment_status(connection: AsyncConnection, shipment_id: str, status: str, **values: Any) -> None:
    """Set the shipment's status (the row exists: :func:`ensure_shipment` ran first)."""
    await connection.execute(
        update(Shipment).where(Shipment.shipment_id == shipment_id).values(status=status, **values)
    )


async def upsert_document(
    connection: AsyncConnection, shipment_id: str, doc_type: str, etag: str, **values: Any
) -> int:
    """Create or update a document's row with ``values``; its id.

    A new row needs a status and a source key: ``RECEIVED`` and the inbound key of a PDF
    unless ``values`` say otherwise.
    """
    await ensure_shipment(connection, shipment_id)
    created = {"status": "RECEIVED", "source_key": inbound_key(shipment_id, doc_type), "size": 0, **values}
    statement = insert(ShipmentDocument).values(shipment_id=shipment_id, doc_type=doc_type, etag=etag, **created)
    if values:
        statement = statement.on_conflict_do_update(
            index_elements=[ShipmentDocument.shipment_id, ShipmentDocument.doc_type, ShipmentDocument.etag],
            set_={**values, "updated_at": func.now()},
        )
    else:
        statement = statement.on_conflict_do_nothing(
            index_elements=[ShipmentDocument.shipment_id, ShipmentDocument.doc_type, ShipmentDocument.etag]
        )
    await connection.execute(statement)
    document_id = await connection.scalar(
        select(ShipmentDocument.id).where(
            ShipmentDocument.shipment_id == shipment_id,
            ShipmentDocument.doc_type == doc_type,
            ShipmentDocument.etag == etag,
        )
    )
    assert document_id is not None
    return int(document_id)
