"""Tables shared by every pipeline: the doctor's probe and the notification ledger."""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base


class DoctorProbe(Base):
    """One row per `stepwise doctor` run: proves the worker can write and read Postgres."""

    __tablename__ = "doctor_probes"

    probe_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    checked_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotificationLedger(Base):
    """Every notification Stepwise published, keyed by business id + purpose.

    A notification is published only if its key is not in the ledger yet, so a retried
    or replayed notify step never sends a second message.
    """

    __tablename__ = "notification_ledger"

    notification_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    topic: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
