"""CHECK_FIELDS: the document type's declared fields found in its staged outputs.

Reads ``key_values.json``, ``text.txt`` and ``entities.json`` from the document's staging
prefix, applies :mod:`activities.documents.fields` and writes one ``shipment_fields`` row per
field (value, confidence, source, provenance ``extracted``). A field a reviewer already
answered is not overwritten by a repeated check. The document's row becomes IN_REVIEW when a
field needs a reviewer, ACCEPTED otherwise.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, transaction
from activities.common.resources import Resources
from activities.documents.contracts import CHECK_FIELDS, INVALID_SHIPMENT, CheckedDocument, CheckRequest
from activities.documents.fields import RULES, Extraction, check_document
from activities.documents.records import set_shipment_status, upsert_document
from activities.models.documents import ShipmentField

NO_TEXT_NOTE = "no text found: a scanned image?"


class FieldCheck:
    """CHECK_FIELDS."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources

    async def _json(self, key: str) -> Any:
        return json.loads(await self._aws.read_object(self._resources.documents_bucket, key))

    @activity.defn(name=CHECK_FIELDS.name)
    async def check_fields(self, request: CheckRequest) -> CheckedDocument:
        """Every required field with its value, confidence and source; the ones to review."""
        if request.doc_type not in RULES:
            raise ApplicationError(
                f"no fields are declared for document type {request.doc_type!r}",
                type=INVALID_SHIPMENT,
                non_retryable=True,
            )
        bucket = self._resources.documents_bucket
        key_values = await self._json(request.prefix + "key_values.json")
        text = (await self._aws.read_object(bucket, request.prefix + "text.txt")).decode()
        entities = (await self._json(request.prefix + "entities.json")).get("Entities", [])
        extraction = Extraction.from_json(key_values, text, entities)
        fields, to_review = check_document(request.doc_type, extraction, request.confidence_threshold)
        async with transaction(self._sessions) as connection:
            document_id = await upsert_document(
                connection,
                request.shipment_id,
                request.doc_type,
                request.etag,
                status="IN_REVIEW" if to_review else "ACCEPTED",
            )
            for checked in fields:
                extracted = {
                    "label": checked.label,
                    "kind": checked.kind,
                    "value": checked.value or None,
                    "extracted_value": checked.value or None,
                    "confidence": checked.confidence,
                    "source": checked.source,
                }
                await connection.execute(
                    insert(ShipmentField)
                    .values(
                        document_id=document_id,
                        shipment_id=request.shipment_id,
                        doc_type=request.doc_type,
                        name=checked.name,
                        provenance="extracted",
                        **extracted,
                    )
                    .on_conflict_do_update(
                        index_elements=[ShipmentField.document_id, ShipmentField.name],
                        set_=extracted,
                        where=ShipmentField.provenance == "extracted",
                    )
                )
            if to_review:
                await set_shipment_status(connection, request.shipment_id, "IN_REVIEW")
        return CheckedDocument(
            doc_type=request.doc_type,
            etag=request.etag,
            fields=fields,
            to_review=to_review,
            note="" if text.strip() else NO_TEXT_NOTE,
        )
