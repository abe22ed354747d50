"""Per-partner token buckets shared by every API replica: the "regulating inbound request rates" throttle.

Each partner has a bucket of ``burst`` tokens refilled at ``rate_per_second``; a request
takes one token or is refused with the seconds until the next token (HTTP 429 with
``Retry-After``). The buckets live in PostgreSQL, so the limit holds for the whole fleet
however many API replicas run, and time is PostgreSQL's clock, so replicas whose clocks
disagree still agree on the bucket.

A bucket is GCRA's single number, the *theoretical arrival time* (TAT): when the bucket
would be full again. Taking a token moves the TAT one emission interval (1 / rate) later;
it is allowed while the new TAT stays within ``burst`` intervals of now. One
``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` decides and records the take atomically
under the row's lock, so concurrent requests from any replica are serialised by
PostgreSQL and none is refused merely for contending.

pyrate-limiter's Postgres bucket was considered: it keeps a log of every request (a
sliding window, not a bucket with a refill rate and a burst), its token-bucket algorithm
has no Postgres store, it blocks the event loop (psycopg's synchronous pool), and it
refuses a request outright when another replica holds its table lock (``NOWAIT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import text

from activities.common.db import SessionMaker
from worker.api.auth import AnyCaller, Caller

NOW_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

TAKE_TOKEN = text(
    f"""
    INSERT INTO rate_limit_buckets AS bucket (key, theoretical_arrival_us)
    VALUES (:key, {NOW_US} + :emission_us)
    ON CONFLICT (key) DO UPDATE
    SET theoretical_arrival_us = greatest(bucket.theoretical_arrival_us + :emission_us, excluded.theoretical_arrival_us)
    WHERE greatest(bucket.theoretical_arrival_us + :emission_us, excluded.theoretical_arrival_us)
          - :burst * :emission_us <= excluded.theoretical_arrival_us - :emission_us
    RETURNING 1
    """
)
"""Take one token if the bucket has one; a row comes back only when the take was allowed.

``excluded.theoretical_arrival_us`` is now + one interval, so the new TAT is
max(TAT, now) + interval, and the take is allowed while new TAT - burst * interval <= now.
"""

WAIT_US = text(
    f"""
    SELECT greatest(theoretical_arrival_us, {NOW_US}) + :emission_us - :burst * :emission_us - {NOW_US}
    FROM rate_limit_buckets WHERE key = :key
    """
)
"""Microseconds until the next token (after a refused take)."""


@dataclass(frozen=True)
class PartnerRateLimiter:
    """A bucket per partner, created full on the partner's first request, in PostgreSQL."""

    sessions: SessionMaker
    rate: float
    """Tokens added per second."""
    burst: int
    """Most tokens a bucket holds."""
    scope: str = "b2b"
    """Prefix of the bucket keys, so other limits can share the table."""

    @property
    def emission_us(self) -> int:
        """Microseconds per token, rounded up (never admits faster than configured)."""
        return max(1, math.ceil(1_000_000 / self.rate))

    async def retry_after(self, partner_id: str) -> int:
        """0 if the partner may proceed (a token was taken), else whole seconds to wait (at least 1)."""
        params = {"key": f"{self.scope}:{partner_id}", "emission_us": self.emission_us, "burst": self.burst}
        async with self.sessions() as session, session.begin():
            if (await session.execute(TAKE_TOKEN, params)).first() is not None:
                return 0
            wait_us = await session.scalar(WAIT_US, params)
        return max(1, math.ceil((wait_us or 0) / 1_000_000))


def _limiter(request: Request) -> PartnerRateLimiter:
    """The API process's limiter, created on first use (its buckets live in PostgreSQL)."""
    limiter: PartnerRateLimiter | None = getattr(request.app.state, "partner_rate_limiter", None)
    if limiter is None:
        b2b = request.app.state.settings.b2b
        sessions = request.app.state.services.sessions
        limiter = request.app.state.partner_rate_limiter = PartnerRateLimiter(sessions, b2b.rate_per_second, b2b.burst)
    return limiter


async def rate_limited(request: Request, caller: AnyCaller) -> Caller:
    """The caller, after taking a token from its partner's bucket (429 with ``Retry-After`` if none).

    Operators are not limited. One bucket per partner, whichever route it calls: the app makes
    this a dependency of every API router (``worker.api.app``), so reads draw on it as starts do.
    """
    if caller.partner_id is not None:
        wait = await _limiter(request).retry_after(caller.partner_id)
        if wait:
            raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(wait)})
    return caller


RateLimitedCaller = Annotated[Caller, Depends(rate_limited)]
"""A route parameter: any authenticated caller, partners rate-limited (the same token as the
router's dependency takes: FastAPI solves a dependency once per request)."""
