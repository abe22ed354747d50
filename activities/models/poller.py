"""API poller records (DESIGN §5.5): jobs, one task per page, and the partner's records.

``poller_tasks`` is the article's PollerTasksTable: a task's status only moves forward
(Pending -> Started -> PayloadSaved -> Enqueued -> SuccessfullyCompleted, or
FailedToComplete), which the activities enforce in each UPDATE's WHERE clause, so a late
retry never moves a task back. ``partner_records`` is the customer's copy of the
partner's data, keyed by (partner, record id): a replayed message or a re-polled page
with unchanged content writes nothing, and ``revision`` counts real changes.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps


class PollerJob(Timestamps, Base):
    """One synchronisation of a partner API: PREPARING -> FETCHING -> COMPLETED[_WITH_FAILURES], or FAILED."""

    __tablename__ = "poller_jobs"

    job_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    """The partner that started the job (None: an operator or a schedule); it alone may read it."""
    url: Mapped[str] = mapped_column(Text)
    workflow_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), index=True)
    total_records: Mapped[int | None] = mapped_column(Integer)
    page_size: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))


class PollerTask(Base):
    """One page of a job and how far it got."""

    __tablename__ = "poller_tasks"
    __table_args__ = (Index("ix_poller_tasks_updated_at", "updated_at"),)

    job_id: Mapped[str] = mapped_column(
        String(120), ForeignKey("poller_jobs.job_id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    page: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    """Requests sent to the partner for this page."""
    records: Mapped[int | None] = mapped_column(Integer)
    s3_key: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PartnerRecord(Base):
    """One record of a partner's data, as last synchronised."""

    __tablename__ = "partner_records"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, server_default="1")
    """1 when first stored; +1 each time a synchronisation brought different content."""
    job_id: Mapped[str] = mapped_column(String(120))
    """The job that last wrote it."""
    first_seen_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
