"""A partner's starts of bookings and media jobs draw on its bucket too, not only its B2B calls."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.conftest import PARTNER_TOKENS

# Outside every location a partner may use: refused with 422 before anything is read or started.
FORBIDDEN_MEDIA = {"media_uri": "s3://stepwise-reports/x.wav", "language": "en-US", "targets": ["es"]}


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/media-jobs", "/bookings"])
async def test_a_partner_starting_faster_than_its_rate_is_told_when_to_come_back(
    api: httpx.AsyncClient, path: str
) -> None:
    """The default bucket holds 20 tokens refilled at 10 a second: 60 starts at once overrun it."""
    body = FORBIDDEN_MEDIA if path == "/media-jobs" else {"request_id": f"rl-{uuid.uuid4().hex[:8]}"}
    answers = await asyncio.gather(
        *(api.post(path, json=body, headers=_as(PARTNER_TOKENS["globex"])) for _ in range(60))
    )
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert all(int(a.headers["Retry-After"]) >= 1 for a in limited)
    assert limited[0].json() == {"detail": "rate limit exceeded", "errors": []}
    assert {a.status_code for a in answers} <= {422, 429}


async def test_operators_are_not_rate_limited(api: httpx.AsyncClient) -> None:
    """The ``api`` client carries the operator's token."""
    answers = await asyncio.gather(*(api.post("/media-jobs", json=FORBIDDEN_MEDIA) for _ in range(60)))
    assert {a.status_code for a in answers} == {422}
