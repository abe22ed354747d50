"""A reviewer's answers on a document (RECORD_REVIEW) and a document's rejection (REJECT_DOCUMENT).

An answer equal to the extracted value confirms it, any other corrects it; either way the
field's provenance becomes ``reviewed`` with the reviewer's name, and the document is
ACCEPTED. A rejected document (by a reviewer, or refused by the pipeline after screening:
Textract could not read it) is kept with the reason; its type is missing again and the
shipment goes back to RECEIVING until a replacement arrives.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.db import SessionMaker, transaction
from activities.documents.contracts import (
    INVALID_SHIPMENT,
    RECORD_REVIEW,
    REJECT_DOCUMENT,
    DocumentRejection,
    ReviewRecord,
)
from activities.documents.records import set_shipment_status, upsert_document
from activities.models.documents import ShipmentField


class DocumentReviews:
    """RECORD_REVIEW and REJECT_DOCUMENT."""

    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @activity.defn(name=RECORD_REVIEW.name)
    async def record_review(self, record: ReviewRecord) -> None:
        """Each answered field reviewed by the operator (confirmed or corrected); the document ACCEPTED."""
        async with transaction(self._sessions) as connection:
            document_id = await upsert_document(
                connection,
                record.shipment_id,
                record.doc_type,
                record.etag,
                status="ACCEPTED",
                decided_by=record.operator,
                reason=None,
            )
            found = await connection.execute(
                select(ShipmentField.name, ShipmentField.extracted_value).where(
                    ShipmentField.document_id == document_id
                )
            )
            extracted = {str(row[0]): row[1] for row in found}
            unknown = sorted(set(record.answers) - set(extracted))
            if unknown:
                raise ApplicationError(
                    f"{record.doc_type} of shipment {record.shipment_id} has no fields {unknown}",
                    type=INVALID_SHIPMENT,
                    non_retryable=True,
                )
            for name, answer in record.answers.items():
                value = answer.strip()
                await connection.execute(
                    update(ShipmentField)
                    .where(ShipmentField.document_id == document_id, ShipmentField.name == name)
                    .values(
                        value=value,
                        provenance="reviewed",
                        review="confirmed" if value == (extracted[name] or "") else "corrected",
                        reviewed_by=record.operator,
                        reviewed_at=func.coalesce(ShipmentField.reviewed_at, func.now()),
                    )
                )

    @activity.defn(name=REJECT_DOCUMENT.name)
    async def reject_document(self, rejection: DocumentRejection) -> None:
        """The document REJECTED by its reviewer (or REFUSED by the pipeline), with the reason."""
        async with transaction(self._sessions) as connection:
            await upsert_document(
                connection,
                rejection.shipment_id,
                rejection.doc_type,
                rejection.etag,
                status="REJECTED" if rejection.operator else "REFUSED",
                reason=rejection.reason,
                decided_by=rejection.operator or None,
            )
            await set_shipment_status(connection, rejection.shipment_id, "RECEIVING")
