"""Translation project records (DESIGN §5.6): each project, its files, its language pairs
with their characters and cost, and the leases on Translate's concurrent-job quota.

Rows are written by upsert keyed by business ids, so a retried step rewrites the same row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps


class TranslationProject(Timestamps, Base):
    """One customer's project: COLLECTING -> TRANSLATING -> IN_REVIEW (-> CHANGES_REQUESTED) -> DELIVERED."""

    __tablename__ = "translation_projects"

    project_id: Mapped[str] = mapped_column(String(110), primary_key=True)
    customer: Mapped[str] = mapped_column(String(40), index=True)
    project: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(130), unique=True)
    owner: Mapped[str | None] = mapped_column(String(40), index=True)
    """The partner who submitted it; NULL when an operator (or a plain S3 upload) did."""
    status: Mapped[str] = mapped_column(String(20), index=True)
    files: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    characters: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    """Sum of the pairs' costs."""
    price_standard: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    """US dollars per million characters at submission (standard translation)."""
    price_custom: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    """US dollars per million characters at submission (Active Custom Translation)."""
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TranslationFile(Timestamps, Base):
    """A file of a project as preprocessing read it: accepted (with its pair and counts) or quarantined."""

    __tablename__ = "translation_files"

    project_id: Mapped[str] = mapped_column(
        String(110), ForeignKey("translation_projects.project_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(1024), primary_key=True)
    """The key relative to the project's inbound folder."""
    kind: Mapped[str] = mapped_column(String(20))
    """xliff, terminology or memory."""
    status: Mapped[str] = mapped_column(String(20))
    """ACCEPTED or QUARANTINED."""
    reason: Mapped[str | None] = mapped_column(Text)
    source_language: Mapped[str | None] = mapped_column(String(10))
    target_language: Mapped[str | None] = mapped_column(String(10))
    segments: Mapped[int] = mapped_column(Integer, default=0)
    characters: Mapped[int] = mapped_column(Integer, default=0)
    quarantine_key: Mapped[str | None] = mapped_column(Text)


class TranslationPair(Timestamps, Base):
    """One language pair of a project: its job(s), counts and cost."""

    __tablename__ = "translation_pairs"

    project_id: Mapped[str] = mapped_column(
        String(110), ForeignKey("translation_projects.project_id", ondelete="CASCADE"), primary_key=True
    )
    source_language: Mapped[str] = mapped_column(String(10), primary_key=True)
    target_language: Mapped[str] = mapped_column(String(10), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    """PLANNED, WAITING_FOR_SLOT, TRANSLATING, STAGED, FAILED."""
    files: Mapped[int] = mapped_column(Integer)
    segments: Mapped[int] = mapped_column(Integer)
    characters: Mapped[int] = mapped_column(Integer)
    billed_characters: Mapped[int | None] = mapped_column(Integer)
    """Characters of every job's input, once staged: the pair's, plus resubmitted files again."""
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    jobs: Mapped[str | None] = mapped_column(Text)
    """Translate job ids, comma-separated (two when files were resubmitted)."""
    price_per_million: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    reason: Mapped[str | None] = mapped_column(Text)


class TranslationJobLease(Base):
    """A slot of Translate's concurrent batch-job quota, held by one pair's workflow."""

    __tablename__ = "translation_job_leases"

    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The pair's workflow id."""
    project_id: Mapped[str] = mapped_column(String(110))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
