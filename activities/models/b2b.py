"""B2B integration records (DESIGN §5.4): batches, transactions and what was quarantined.

A transaction is keyed by (partner, TransactionID): the same key is the same transaction
whether it arrived in a file or over HTTP, and ``content_hash`` tells a resubmission of
the same content (deduplicated) from a clash (rejected). ``history`` is the transaction's
status trail, appended idempotently, so a retried step never records a status twice.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps


class B2BBatch(Timestamps, Base):
    """One partner file. Status RECEIVED -> SPLIT -> COMPLETED, or QUARANTINED with a reason."""

    __tablename__ = "b2b_batches"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    bucket: Mapped[str] = mapped_column(String(255))
    object_key: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    record_count: Mapped[int] = mapped_column(Integer, server_default="0")
    accepted_count: Mapped[int] = mapped_column(Integer, server_default="0")
    duplicate_count: Mapped[int] = mapped_column(Integer, server_default="0")
    invalid_count: Mapped[int] = mapped_column(Integer, server_default="0")
    reason: Mapped[str | None] = mapped_column(Text)
    quarantine_key: Mapped[str | None] = mapped_column(Text)
    report_key: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class B2BTransaction(Timestamps, Base):
    """One partner transaction: RECEIVED -> FORMATTED -> ENRICHED -> STORED, or QUARANTINED/FAILED."""

    __tablename__ = "b2b_transactions"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10))
    batch_id: Mapped[str | None] = mapped_column(String(100), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    from_user_id: Mapped[str | None] = mapped_column(String(20))
    to_user_id: Mapped[str | None] = mapped_column(String(20))
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")


class B2BQuarantine(Base):
    """Input that was rejected, kept with the reason: a whole file, one record, or one transaction."""

    __tablename__ = "b2b_quarantine"

    quarantine_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[str | None] = mapped_column(String(100), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(12))
    record_index: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    s3_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
