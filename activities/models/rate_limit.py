"""The API's shared rate-limit buckets: one row per limited key, shared by every API replica."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base


class RateLimitBucket(Base):
    """A token bucket kept as GCRA's one number: when the bucket would next be full.

    ``theoretical_arrival_us`` is in microseconds since the epoch on PostgreSQL's clock,
    so every replica measures time alike; integers keep a full burst exact.
    """

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    theoretical_arrival_us: Mapped[int] = mapped_column(BigInteger)
