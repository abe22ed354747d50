"""Shipment documents records (DESIGN §5.7): each shipment, every document that arrived for it
(accepted, ignored, refused or rejected, with the reason) and every field found in them with
its provenance (extracted with a confidence and a source, or reviewed by whom).

Rows are written by upsert keyed by business ids (a document is its shipment, type and S3
ETag; a field is its document and name), so a retried step rewrites the same row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps

SHIPMENT_STATUSES = ("RECEIVING", "EXTRACTING", "IN_REVIEW", "COMPLETE")
DOCUMENT_STATUSES = ("RECEIVED", "IGNORED", "REFUSED", "EXTRACTED", "IN_REVIEW", "ACCEPTED", "REJECTED")


class Shipment(Timestamps, Base):
    """One shipment: RECEIVING -> EXTRACTING -> IN_REVIEW -> COMPLETE."""

    __tablename__ = "shipments"

    shipment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    partner: Mapped[str | None] = mapped_column(String(40), index=True)
    """The partner whose upload started it; NULL for a plain S3 drop or an operator."""
    status: Mapped[str] = mapped_column(String(20), index=True)
    processed_key: Mapped[str | None] = mapped_column(Text)
    """``processed/<shipment>/shipment.json`` once consolidated."""
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShipmentDocument(Base):
    """One arrival of a document: its identity is (shipment, type, ETag)."""

    __tablename__ = "shipment_documents"
    __table_args__ = (UniqueConstraint("shipment_id", "doc_type", "etag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(String(128), ForeignKey("shipments.shipment_id", ondelete="CASCADE"))
    doc_type: Mapped[str] = mapped_column(String(64))
    """As the key named it (an unknown type is recorded REFUSED)."""
    etag: Mapped[str] = mapped_column(String(100))
    source_key: Mapped[str] = mapped_column(Text)
    """Where it arrived (``documents-inbound/<shipment>/<type>.<ext>``)."""
    raw_key: Mapped[str | None] = mapped_column(Text)
    quarantine_key: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it was ignored, refused or rejected."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    job_id: Mapped[str | None] = mapped_column(String(100))
    """Textract's analysis job."""
    decided_by: Mapped[str | None] = mapped_column(String(100))
    """The reviewer who accepted or rejected it."""
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ShipmentField(Base):
    """One required field of a document, as extracted and (when asked) as reviewed."""

    __tablename__ = "shipment_fields"
    __table_args__ = (UniqueConstraint("document_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(Integer, ForeignKey("shipment_documents.id", ondelete="CASCADE"))
    shipment_id: Mapped[str] = mapped_column(String(128), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str | None] = mapped_column(Text)
    """The field's value: the extracted one, or the reviewer's answer."""
    extracted_value: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text, default="")
    provenance: Mapped[str] = mapped_column(String(20))
    """``extracted`` or ``reviewed``."""
    review: Mapped[str | None] = mapped_column(String(20))
    """``confirmed`` or ``corrected`` once reviewed."""
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
