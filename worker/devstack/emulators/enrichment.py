"""The B2B enrichment API emulator (EMULATION: development and tests only).

``POST /v1/enrich`` answers, deterministically from the user ids, each user's tier and
region and a risk score for the pair: the article's API Gateway enrichment step.
Switches, in the style of test fixtures partners publish:

* user id ``4040`` is unknown: 422 (a 4xx the pipeline must not retry);
* user id ``5030`` is flaky: 503 for the first two calls per transaction, then 200;
* ``POST /control`` sets ``fail_next`` (the next N calls answer 503), ``throttle_next``
  (the next N calls answer 429 with ``Retry-After: <retry_after>``), ``latency_seconds``
  (every call waits that long) and ``reject_users`` (more unknown users);
  ``GET /control`` shows them and the number of calls per transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

TIERS = ("bronze", "silver", "gold", "platinum")
REGIONS = ("eu-west", "us-east", "ap-south", "sa-east")
UNKNOWN_USER = "4040"
FLAKY_USER = "5030"


class EnrichRequest(BaseModel):
    """A formatted transaction, as the pipeline sends it."""

    partnerId: str = Field(min_length=1)
    transactionId: str = Field(min_length=1)
    fromUserId: str = Field(pattern=r"^\d{1,18}$")
    toUserId: str = Field(pattern=r"^\d{1,18}$")


class Controls(BaseModel):
    """Fault switches; unset fields keep their value."""

    fail_next: int | None = Field(default=None, ge=0)
    throttle_next: int | None = Field(default=None, ge=0)
    retry_after: str | None = Field(default=None, max_length=64)
    latency_seconds: float | None = Field(default=None, ge=0, le=60)
    reject_users: list[str] | None = None


def _pick(options: tuple[str, ...], *parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return options[digest[0] % len(options)]


def describe_user(user_id: str) -> dict[str, str]:
    """What the emulator knows about a user (deterministic)."""
    return {"id": user_id, "tier": _pick(TIERS, "tier", user_id), "region": _pick(REGIONS, "region", user_id)}


def risk_score(from_user: str, to_user: str) -> float:
    """A pair's risk score in [0, 1), two decimals (deterministic)."""
    digest = hashlib.sha256(f"risk|{from_user}|{to_user}".encode()).digest()
    return int.from_bytes(digest[:2], "big") % 100 / 100


class EnrichmentApi:
    """The emulator's state and routes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fail_next = 0
        self.throttle_next = 0
        self.retry_after = "1"
        self.latency_seconds = 0.0
        self.reject_users: set[str] = set()
        self.calls: dict[str, int] = {}
        self.router = APIRouter()
        self.router.add_api_route("/v1/enrich", self.enrich, methods=["POST"])
        self.router.add_api_route("/control", self.set_controls, methods=["POST"])
        self.router.add_api_route("/control", self.get_controls, methods=["GET"])

    async def enrich(self, body: EnrichRequest) -> JSONResponse:
        """Enrich one transaction, or fail as the switches say."""
        key = f"{body.partnerId}/{body.transactionId}"
        with self._lock:
            attempt = self.calls[key] = self.calls.get(key, 0) + 1
            forced_failure = self.fail_next > 0
            self.fail_next = max(0, self.fail_next - 1)
            throttled = not forced_failure and self.throttle_next > 0
            self.throttle_next -= 1 if throttled else 0
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        if throttled:
            return JSONResponse(
                {"detail": "too many requests"}, status_code=429, headers={"Retry-After": self.retry_after}
            )
        if forced_failure or (FLAKY_USER in (body.fromUserId, body.toUserId) and attempt <= 2):
            return JSONResponse({"detail": "enrichment backend unavailable"}, status_code=503)
        unknown = [u for u in (body.fromUserId, body.toUserId) if u == UNKNOWN_USER or u in self.reject_users]
        if unknown:
            return JSONResponse({"detail": f"unknown user {unknown[0]}"}, status_code=422)
        return JSONResponse(
            {
                "transactionId": body.transactionId,
                "fromUser": describe_user(body.fromUserId),
                "toUser": describe_user(body.toUserId),
                "riskScore": risk_score(body.fromUserId, body.toUserId),
            }
        )

    async def set_controls(self, controls: Controls) -> dict[str, Any]:
        """Change the fault switches."""
        with self._lock:
            if controls.fail_next is not None:
                self.fail_next = controls.fail_next
            if controls.throttle_next is not None:
                self.throttle_next = controls.throttle_next
            if controls.retry_after is not None:
                self.retry_after = controls.retry_after
            if controls.latency_seconds is not None:
                self.latency_seconds = controls.latency_seconds
            if controls.reject_users is not None:
                self.reject_users = set(controls.reject_users)
        return await self.get_controls()

    async def get_controls(self) -> dict[str, Any]:
        """The switches and the calls counted per transaction."""
        return {
            "fail_next": self.fail_next,
            "throttle_next": self.throttle_next,
            "retry_after": self.retry_after,
            "latency_seconds": self.latency_seconds,
            "reject_users": sorted(self.reject_users),
            "calls": dict(self.calls),
        }
