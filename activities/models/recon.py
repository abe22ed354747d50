"""Reconciliation records (DESIGN §5.2): one row per run, one per compared report."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps


class ReconRun(Timestamps, Base):
    """A reconciliation of one client's baseline and candidate versions.

    Status: RUNNING -> AWAITING_SIGNOFF -> APPROVED | REJECTED; COMPLETED when no sign-off
    is required; ABORTED when an operator aborted a step; FAILED when a step failed for good
    (its story is in the reconciliation dead-letter queue).
    """

    __tablename__ = "recon_runs"

    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    baseline: Mapped[str] = mapped_column(String(50))
    candidate: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), index=True)
    reports_total: Mapped[int] = mapped_column(Integer, default=0)
    reports_matched: Mapped[int] = mapped_column(Integer, default=0)
    reports_different: Mapped[int] = mapped_column(Integer, default=0)
    reports_skipped: Mapped[int] = mapped_column(Integer, default=0)
    summary_uri: Mapped[str | None] = mapped_column(String(500))
    signoff_by: Mapped[str | None] = mapped_column(String(200))
    signoff_reason: Mapped[str | None] = mapped_column(Text)


class ReconReportResult(Timestamps, Base):
    """How one report compared: matched, different, or skipped (with why)."""

    __tablename__ = "recon_report_results"

    run_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("recon_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    report: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    matched_rows: Mapped[int] = mapped_column(Integer, default=0)
    missing_rows: Mapped[int] = mapped_column(Integer, default=0)
    extra_rows: Mapped[int] = mapped_column(Integer, default=0)
    changed_rows: Mapped[int] = mapped_column(Integer, default=0)
    changed_columns: Mapped[str] = mapped_column(Text, default="")
    diff_uri: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
