"""The payment provider's HTTP API, as the booking saga uses it.

Every charge and refund carries an ``Idempotency-Key`` derived from the booking, so a
retried call (after a timeout, or a worker that died mid-request) returns the charge
the provider already made instead of making a second one. Errors are typed: a decline
is non-retryable ``PaymentDeclined``; 5xx, timeouts and connection failures are
retryable ``PaymentProviderUnavailable``; any other 4xx is non-retryable
``PaymentRejected``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from temporalio.exceptions import ApplicationError

from activities.booking.contracts import PAYMENT_DECLINED, PAYMENT_REJECTED
from activities.common.partner_http import PartnerResponse, partner_request


@dataclass(frozen=True)
class Charge:
    """A charge the provider made."""

    charge_id: str
    amount: Decimal
    currency: str
    refunded: bool


class PaymentProvider:
    """Client of the provider's ``/v1/charges`` and ``/v1/refunds`` endpoints."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, api_key: str = "") -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def charge(
        self, *, idempotency_key: str, booking_id: str, amount: Decimal, currency: str, token: str
    ) -> Charge:
        """Charge ``token`` once for this key."""
        body = {"amount": str(amount), "currency": currency, "token": token, "booking_id": booking_id}
        data = await self._post("/v1/charges", body, idempotency_key)
        return _charge(data)

    async def refund(self, *, idempotency_key: str, charge_id: str) -> str:
        """Refund a whole charge; returns the refund id (the same one when repeated)."""
        data = await self._post("/v1/refunds", {"charge_id": charge_id}, idempotency_key)
        return str(data["id"])

    async def charges_for(self, booking_id: str) -> list[Charge]:
        """Every charge the provider holds for a booking (to refund what we never recorded)."""
        response = await self._send("GET", "/v1/charges", params={"booking_id": booking_id})
        return [_charge(item) for item in response.json()]

    async def _post(self, path: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self._send("POST", path, json=body, headers={"Idempotency-Key": idempotency_key})
        data: dict[str, Any] = response.json()
        return data

    async def _send(self, method: str, path: str, **options: Any) -> PartnerResponse:
        headers = {**self._headers, **options.pop("headers", {})}
        response = await partner_request(
            self._http,
            method,
            self._base_url + path,
            headers=headers,
            unavailable="PaymentProviderUnavailable",
            partner="payment provider",
            **options,
        )
        if response.status == 402:
            message = response.json().get("error", {}).get("message", "declined")
            raise ApplicationError(f"payment declined: {message}", type=PAYMENT_DECLINED, non_retryable=True)
        if response.status >= 400:
            raise ApplicationError(
                f"payment provider rejected the request ({response.status}): {response.text()}",
                type=PAYMENT_REJECTED,
                non_retryable=True,
            )
        return response


def _charge(data: dict[str, Any]) -> Charge:
    return Charge(
        charge_id=str(data["id"]),
        amount=Decimal(str(data["amount"])),
        currency=str(data["currency"]),
        refunded=bool(data.get("refunded", False)),
    )
