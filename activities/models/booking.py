"""Booking saga records: the booking and its payment (DESIGN §5.1)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps


class Booking(Timestamps, Base):
    """A flight booking. Status RESERVED -> CONFIRMED, or CANCELLED with a reason."""

    __tablename__ = "bookings"

    booking_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200), index=True)
    outbound_flight_id: Mapped[str] = mapped_column(String(100))
    return_flight_id: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), index=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    failed_step: Mapped[str | None] = mapped_column(String(50))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(40), index=True)
    """The partner who submitted the booking; NULL when an operator did."""


class Payment(Timestamps, Base):
    """The provider charge taken for a booking, and its refund if the saga compensated."""

    __tablename__ = "payments"

    booking_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("bookings.booking_id", ondelete="CASCADE"), primary_key=True
    )
    charge_id: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    refund_id: Mapped[str | None] = mapped_column(String(100))
