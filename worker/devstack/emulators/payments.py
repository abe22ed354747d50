"""A payment provider emulator with the semantics real providers have (EMULATION).

* ``POST /v1/charges`` requires an ``Idempotency-Key``: the same key returns the same
  charge, never a second one; the same key with different parameters is a 409.
* Test tokens, in the style payment providers use: ``tok_declined`` is declined (402),
  ``tok_flaky`` answers 503 twice per key then succeeds, ``tok_slow`` takes 3 s,
  ``tok_hang_after_charge`` records the charge and then withholds the answer for 60 s
  the first time (a worker dying mid-call), any other token succeeds.
* ``POST /v1/refunds`` refunds a charge once; refunding it again returns the first refund.
* ``GET /v1/charges?booking_id=...`` lists charges, for tests and operators.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class ChargeRequest(BaseModel):
    """A charge request, as the booking saga sends it."""

    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    token: str = Field(min_length=1)
    booking_id: str = ""


class RefundRequest(BaseModel):
    """A refund of a whole charge."""

    charge_id: str


class PaymentProvider:
    """The emulator's state and routes."""

    def __init__(self, state_file: Path | None = None) -> None:
        self._state_file = state_file
        self._lock = threading.Lock()
        self.charges: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.attempts: dict[str, int] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._load()
        self.router = APIRouter()
        self.router.add_api_route("/v1/charges", self.create_charge, methods=["POST"])
        self.router.add_api_route("/v1/charges", self.list_charges, methods=["GET"])
        self.router.add_api_route("/v1/refunds", self.create_refund, methods=["POST"])

    def _load(self) -> None:
        if self._state_file and self._state_file.exists():
            state = json.loads(self._state_file.read_text())
            self.charges, self.by_key, self.refunds = state["charges"], state["by_key"], state["refunds"]

    def _save(self) -> None:
        if self._state_file:
            state = {"charges": self.charges, "by_key": self.by_key, "refunds": self.refunds}
            # Renamed into place: a kill mid-write leaves the previous state, never half a file.
            temporary = self._state_file.with_name(f".{self._state_file.name}.tmp")
            temporary.write_text(json.dumps(state, indent=1))
            os.replace(temporary, self._state_file)

    async def create_charge(
        self, body: ChargeRequest, idempotency_key: str = Header(..., alias="Idempotency-Key")
    ) -> JSONResponse:
        """Charge the token once per idempotency key."""
        fingerprint = f"{body.amount}|{body.currency}|{body.token}|{body.booking_id}"
        if body.token == "tok_slow":
            await asyncio.sleep(3)
        # No await from here to the recording of the charge: concurrent retries cannot both charge.
        with self._lock:
            attempt = self.attempts[idempotency_key] = self.attempts.get(idempotency_key, 0) + 1
            previous = self.by_key.get(idempotency_key)
        if previous is not None:
            if previous["fingerprint"] != fingerprint:
                raise HTTPException(409, "Idempotency-Key reused with different parameters")
            return JSONResponse(previous["response"], status_code=previous["status"])
        if body.token == "tok_flaky" and attempt <= 2:
            return JSONResponse({"error": {"type": "api_error", "message": "try again"}}, status_code=503)
        if body.token == "tok_declined":
            response: dict[str, Any] = {
                "error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
            }
            status = 402
        else:
            charge_id = f"ch_{uuid.uuid4().hex[:20]}"  # unique across emulator restarts, like a provider's
            response = {
                "id": charge_id,
                "status": "succeeded",
                "amount": str(body.amount),
                "currency": body.currency.upper(),
                "booking_id": body.booking_id,
                "refunded": False,
            }
            status = 201
            self.charges[charge_id] = response
        with self._lock:
            self.by_key[idempotency_key] = {"fingerprint": fingerprint, "response": response, "status": status}
            self._save()
        if body.token == "tok_hang_after_charge" and attempt == 1:
            await asyncio.sleep(60)
        return JSONResponse(response, status_code=status)

    async def list_charges(self, booking_id: str | None = None) -> list[dict[str, Any]]:
        """Every charge, or a booking's charges."""
        return [c for c in self.charges.values() if booking_id is None or c["booking_id"] == booking_id]

    async def create_refund(
        self, body: RefundRequest, idempotency_key: str = Header(..., alias="Idempotency-Key")
    ) -> JSONResponse:
        """Refund a whole charge; a charge is refunded at most once."""
        with self._lock:
            charge = self.charges.get(body.charge_id)
            if charge is None:
                raise HTTPException(404, f"no such charge: {body.charge_id}")
            refund = self.refunds.get(body.charge_id)
            if refund is None:
                refund = {"id": f"re_{uuid.uuid4().hex[:20]}", "charge_id": body.charge_id, "status": "succeeded"}
                self.refunds[body.charge_id] = refund
                charge["refunded"] = True
                self._save()
        return JSONResponse(refund, status_code=201)
