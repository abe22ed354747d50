"""CONSOLIDATE: the shipment's one record from its accepted documents (the article's last step).

Every field of every accepted document with its provenance (extracted with its confidence
and source, or reviewed by whom, confirmed or corrected) is written to
``processed/<shipment>/shipment.json``; the shipment's row becomes COMPLETE; and
``documents-notifications`` is told once, through the notification ledger (key
``shipment-<id>:consolidated``). Run again, it writes the same record and sends nothing.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, transaction
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.documents.contracts import (
    CONSOLIDATE,
    DOCUMENT_TYPES,
    INVALID_SHIPMENT,
    PROCESSED_PREFIX,
    ConsolidateRequest,
    FieldValue,
    ShipmentResult,
    shipment_workflow_id,
)
from activities.documents.fields import RULES
from activities.models.documents import Shipment, ShipmentDocument, ShipmentField


def processed_key(shipment_id: str) -> str:
    """Where the shipment's consolidated record is written."""
    return f"{PROCESSED_PREFIX}{shipment_id}/shipment.json"


def _type_order(doc_type: str) -> tuple[int, str]:
    return (DOCUMENT_TYPES.index(doc_type) if doc_type in DOCUMENT_TYPES else len(DOCUMENT_TYPES), doc_type)


def _field_order(doc_type: str, name: str) -> int:
    names = [rule.name for rule in RULES.get(doc_type, ())]
    return names.index(name) if name in names else len(names)


class Consolidation:
    """CONSOLIDATE."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources, notifier: Notifier) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._notifier = notifier

    @activity.defn(name=CONSOLIDATE.name)
    async def consolidate(self, request: ConsolidateRequest) -> ShipmentResult:
        """shipment.json, the row COMPLETE, one notification."""
        shipment_id = request.shipment_id
        key = processed_key(shipment_id)
        fields: list[FieldValue] = []
        documents: dict[str, dict[str, str | None]] = {}
        async with transaction(self._sessions) as connection:
            for doc_type, etag in sorted(request.documents.items(), key=lambda item: _type_order(item[0])):
                document = (
                    await connection.execute(
                        select(ShipmentDocument).where(
                            ShipmentDocument.shipment_id == shipment_id,
                            ShipmentDocument.doc_type == doc_type,
                            ShipmentDocument.etag == etag,
                        )
                    )
                ).one_or_none()
                rows = (
                    (
                        await connection.execute(select(ShipmentField).where(ShipmentField.document_id == document.id))
                    ).all()
                    if document is not None
                    else []
                )
                if document is None or not rows:
                    raise ApplicationError(
                        f"shipment {shipment_id} has no checked {doc_type} document with ETag {etag}",
                        type=INVALID_SHIPMENT,
                        non_retryable=True,
                    )
                documents[doc_type] = {
                    "etag": etag,
                    "source_key": document.source_key,
                    "raw_key": document.raw_key,
                    "decided_by": document.decided_by,
                }
                for row in sorted(rows, key=lambda r: _field_order(doc_type, r.name)):
                    fields.append(
                        FieldValue(
                            doc_type=doc_type,
                            name=row.name,
                            label=row.label,
                            value=row.value or "",
                            provenance=row.provenance,
                            confidence=row.confidence,
                            source=row.source,
                            reviewed_by=row.reviewed_by or "",
                            review=row.review or "",
                        )
                    )
            completed_at = await connection.scalar(
                update(Shipment)
                .where(Shipment.shipment_id == shipment_id)
                .values(
                    status="COMPLETE",
                    processed_key=key,
                    completed_at=func.coalesce(Shipment.completed_at, func.now()),
                )
                .returning(Shipment.completed_at)
            )
            if completed_at is None:
                raise ApplicationError(
                    f"shipment {shipment_id} has no record", type=INVALID_SHIPMENT, non_retryable=True
                )
            for doc_type, etag in request.documents.items():
                await connection.execute(
                    update(ShipmentDocument)
                    .where(
                        ShipmentDocument.shipment_id == shipment_id,
                        ShipmentDocument.doc_type == doc_type,
                        ShipmentDocument.etag == etag,
                    )
                    .values(status="ACCEPTED")
                )
        reviewed = sum(1 for f in fields if f.provenance == "reviewed")
        record = {
            "shipment_id": shipment_id,
            "status": "COMPLETE",
            "completed_at": completed_at.isoformat(),
            "documents": documents,
            "fields": {
                doc_type: {
                    f.name: {
                        "label": f.label,
                        "value": f.value,
                        "provenance": f.provenance,
                        "confidence": f.confidence,
                        "source": f.source,
                        **({"reviewed_by": f.reviewed_by, "review": f.review} if f.provenance == "reviewed" else {}),
                    }
                    for f in fields
                    if f.doc_type == doc_type
                }
                for doc_type in documents
            },
            "reviewed": reviewed,
        }
        bucket = self._resources.documents_bucket
        await self._aws.call(
            "s3",
            "put_object",
            Bucket=bucket,
            Key=key,
            Body=json.dumps(record, indent=2).encode(),
            ContentType="application/json",
        )
        await self._notifier.publish_once(
            f"{shipment_workflow_id(shipment_id)}:consolidated",
            self._resources.documents_notifications_topic,
            f"Shipment {shipment_id} consolidated"[:100],
            json.dumps(
                {
                    "event": "shipment.consolidated",
                    "shipment_id": shipment_id,
                    "documents": {doc_type: d["etag"] for doc_type, d in documents.items()},
                    "fields": len(fields),
                    "reviewed": reviewed,
                    "record": f"s3://{bucket}/{key}",
                }
            ),
        )
        return ShipmentResult(
            shipment_id=shipment_id,
            status="COMPLETE",
            processed_key=key,
            documents=dict(request.documents),
            fields=fields,
            reviewed=reviewed,
        )
