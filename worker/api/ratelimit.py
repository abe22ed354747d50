"""Per-partner token buckets: the "regulating inbound request rates" article's throttle.

Each partner has a bucket of ``burst`` tokens refilled at ``rate_per_second``; a request
takes one token or is refused with the seconds until the next token (HTTP 429 with
``Retry-After``). Buckets live in the API process, so the fleet-wide limit is the
per-process limit times the number of API replicas; size the settings accordingly.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """One partner's bucket."""

    rate: float
    """Tokens added per second."""
    capacity: float
    """Most tokens the bucket holds (the burst)."""
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take a token; return 0 if granted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class PartnerRateLimiter:
    """A bucket per partner, created full on the partner's first request."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, partner_id: str) -> int:
        """0 if the partner may proceed, else whole seconds to wait (at least 1)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(partner_id)
            if bucket is None:
                bucket = self._buckets[partner_id] = TokenBucket(self.rate, float(self.burst), float(self.burst), now)
            wait = bucket.take(now)
        return 0 if wait == 0 else max(1, math.ceil(wait))
