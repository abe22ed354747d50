"""The operators' decisions on parked steps and gates, one audited row each (DESIGN §6)."""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base


class StepDecisionRecord(Base):
    """A decision a workflow received: accepted (and applied) or rejected (and ignored).

    ``audit_id`` is generated deterministically by the workflow, so a retried audit
    activity writes the row once.
    """

    __tablename__ = "step_decisions"

    audit_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(300), index=True)
    run_id: Mapped[str] = mapped_column(String(100))
    pipeline: Mapped[str] = mapped_column(String(50), index=True)
    step: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    operator: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    rejection: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    """A form gate's answers, by field name (``{}`` for every other decision)."""
    decided_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
