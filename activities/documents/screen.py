"""An arrival's record and its screening, before Textract reads anything (DESIGN §5.7).

* **Record**: the shipment's row and the document's row, keyed by (shipment, type, ETag):
  the same arrival recorded twice is one row; an arrival the workflow ignores (a duplicate,
  a type the shipment already has) is kept with the reason.
* **Screen**: the object is read by its ETag (``If-Match``: bytes replaced since the arrival
  are another arrival, not this one). Empty, too large, or not a PDF (the first bytes are not
  ``%PDF-``, whatever the extension says) -> refused: the bytes are copied to
  ``quarantine/<shipment>/<type>/<etag>.<ext>`` (a file over the limit is left where it arrived,
  not copied) and the row says why. Accepted -> copied to
  the raw layer ``raw/<shipment>/<type>/<etag>.pdf``, which is what Textract reads. Nothing
  is deleted from ``documents-inbound/``.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients, aws_error_code, classify_aws_error
from activities.common.contracts import AWS_NOT_FOUND
from activities.common.db import SessionMaker, transaction
from activities.common.resources import Resources
from activities.documents.contracts import (
    DOCUMENT_EXTENSIONS,
    INVALID_SHIPMENT,
    QUARANTINE_PREFIX,
    RAW_PREFIX,
    RECORD_ARRIVAL,
    SCREEN_DOCUMENT,
    ArrivalRecord,
    DocumentArrival,
    ScreenedDocument,
    ScreenInput,
    valid_shipment_id,
)
from activities.documents.records import ensure_shipment, upsert_document
from activities.models.documents import ShipmentDocument

PDF_MAGIC = b"%PDF-"
SNIFF_BYTES = 16
ARRIVAL_STATUSES = ("RECEIVED", "IGNORED", "REFUSED")
"""What an arrival may be recorded as (the workflow's decision on it)."""


def raw_key(shipment_id: str, doc_type: str, etag: str) -> str:
    """The raw layer's copy of an accepted document."""
    return f"{RAW_PREFIX}{shipment_id}/{doc_type}/{etag}.pdf"


def quarantine_key(shipment_id: str, doc_type: str, etag: str, extension: str) -> str:
    """Where the bytes of a refused document are kept."""
    return f"{QUARANTINE_PREFIX}{shipment_id}/{doc_type}/{etag}.{extension or 'bin'}"


def describe_start(head: bytes) -> str:
    """The first bytes of a file as a reader can see them (``'PK\\x03\\x04'``)."""
    shown = "".join(chr(b) if 32 <= b < 127 and b not in (0x27, 0x5C) else f"\\x{b:02x}" for b in head[:8])
    return f"'{shown}'"


def refusal(size: int, limit: int, extension: str, head: bytes | None) -> str:
    """Why a document is refused ("" when it is accepted). ``head`` None: not read yet."""
    if size == 0:
        return "empty file"
    if size > limit:
        return f"too large ({size} bytes, limit {limit})"
    if extension not in DOCUMENT_EXTENSIONS:
        return f"not a PDF (extension .{extension})"
    if head is not None and not head.startswith(PDF_MAGIC):
        return f"not a PDF (starts with {describe_start(head)})"
    return ""


def _check_ids(arrival: DocumentArrival) -> None:
    if not valid_shipment_id(arrival.shipment_id) or not arrival.doc_type or not arrival.etag:
        raise ApplicationError(
            f"shipment {arrival.shipment_id!r} / type {arrival.doc_type!r} / etag {arrival.etag!r} are not valid",
            type=INVALID_SHIPMENT,
            non_retryable=True,
        )


class DocumentScreening:
    """RECORD_ARRIVAL and SCREEN_DOCUMENT."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources

    @activity.defn(name=RECORD_ARRIVAL.name)
    async def record_arrival(self, record: ArrivalRecord) -> None:
        """The shipment's row and the arrival's row (the same arrival twice: one row).

        An arrival recorded IGNORED and later taken (its type became missing again) becomes
        RECEIVED; any other existing row is left as it is.
        """
        arrival = record.arrival
        _check_ids(arrival)
        if record.status not in ARRIVAL_STATUSES:
            raise ApplicationError(
                f"an arrival is recorded as one of {ARRIVAL_STATUSES}, not {record.status!r}",
                type=INVALID_SHIPMENT,
                non_retryable=True,
            )
        keys = [ShipmentDocument.shipment_id, ShipmentDocument.doc_type, ShipmentDocument.etag]
        statement = insert(ShipmentDocument).values(
            shipment_id=arrival.shipment_id,
            doc_type=arrival.doc_type,
            etag=arrival.etag,
            source_key=arrival.key,
            size=arrival.size,
            status=record.status,
            reason=record.reason or None,
        )
        async with transaction(self._sessions) as connection:
            await ensure_shipment(connection, arrival.shipment_id, arrival.submitted_by)
            if record.status == "RECEIVED":
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=keys,
                        set_={"status": "RECEIVED", "reason": None, "updated_at": func.now()},
                        where=ShipmentDocument.status == "IGNORED",
                    )
                )
            else:
                await connection.execute(statement.on_conflict_do_nothing(index_elements=keys))

    @activity.defn(name=SCREEN_DOCUMENT.name)
    async def screen_document(self, request: ScreenInput) -> ScreenedDocument:
        """Accept (copy to raw/) or refuse (copy to quarantine/, row REFUSED with the reason)."""
        arrival = request.arrival
        _check_ids(arrival)
        bucket = self._resources.documents_bucket
        try:
            head = await self._aws.call(
                "s3", "head_object", Bucket=bucket, Key=arrival.key, IfMatch=f'"{arrival.etag}"'
            )
        except ApplicationError as error:
            gone = error.type == AWS_NOT_FOUND or aws_error_code(error) in {"PreconditionFailed", "412"}
            if not gone:
                raise
            # The bytes this arrival named are no longer there (deleted or replaced: a replacement
            # is an arrival of its own). Nothing to quarantine; the row says why.
            return await self._refuse(arrival, "the document was deleted or replaced after it arrived", "")
        size = int(head.get("ContentLength", 0))
        extension = arrival.extension.lower()
        reason = refusal(size, request.max_document_bytes, extension, None)
        if not reason:
            reason = refusal(size, request.max_document_bytes, extension, await self._first_bytes(bucket, arrival))
        if size > request.max_document_bytes:
            # Not copied (a copy of a file of any size could fail, and would double it): the row
            # names the inbound object, which stays until the next upload of the type replaces it.
            return await self._refuse(arrival, f"{reason}; left at {arrival.key}", "", size)
        target = (
            quarantine_key(arrival.shipment_id, arrival.doc_type, arrival.etag, extension)
            if reason
            else raw_key(arrival.shipment_id, arrival.doc_type, arrival.etag)
        )
        await self._aws.call(
            "s3",
            "copy_object",
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": arrival.key},
            CopySourceIfMatch=f'"{arrival.etag}"',
        )
        if reason:
            return await self._refuse(arrival, reason, target, size)
        async with transaction(self._sessions) as connection:
            await upsert_document(
                connection,
                arrival.shipment_id,
                arrival.doc_type,
                arrival.etag,
                source_key=arrival.key,
                raw_key=target,
                size=size,
            )
        return ScreenedDocument(accepted=True, etag=arrival.etag, raw_key=target)

    async def _refuse(self, arrival: DocumentArrival, reason: str, kept: str, size: int = 0) -> ScreenedDocument:
        async with transaction(self._sessions) as connection:
            await upsert_document(
                connection,
                arrival.shipment_id,
                arrival.doc_type,
                arrival.etag,
                source_key=arrival.key,
                status="REFUSED",
                reason=reason,
                quarantine_key=kept or None,
                size=size or arrival.size,
            )
        return ScreenedDocument(accepted=False, etag=arrival.etag, reason=reason, quarantine_key=kept)

    async def _first_bytes(self, bucket: str, arrival: DocumentArrival) -> bytes:
        """The first bytes of the arrival's object (a ranged read: a large file is not fetched)."""

        def read() -> bytes:
            response = self._aws.client("s3").get_object(
                Bucket=bucket, Key=arrival.key, Range=f"bytes=0-{SNIFF_BYTES - 1}", IfMatch=f'"{arrival.etag}"'
            )
            body: bytes = response["Body"].read()
            return body

        try:
            return await asyncio.to_thread(read)
        except Exception as error:
            raise classify_aws_error(error, service="s3", operation="GetObject") from error
