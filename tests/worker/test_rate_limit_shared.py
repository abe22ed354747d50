"""One partner's rate limit holds across API replicas: two `stepwise api` processes, one bucket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.api_process import api_env, running_api
from tests.support.b2b import new_partner
from worker.settings import Settings, hash_token

BURST = 5
RATE_PER_SECOND = 0.01
"""One token per 100 s: nothing refills while the test runs, so the burst is all there is."""


async def _requests(first: str, second: str, partner: str, token: str) -> list[tuple[str, httpx.Response]]:
    """One request to each process in turn, then twice the burst to both at once."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:

        async def read(url: str) -> tuple[str, httpx.Response]:
            return url, await http.get(f"{url}/partners/{partner}/transactions/t-1")

        in_turn = [await read(first), await read(second)]
        at_once = await asyncio.gather(*(read(url) for url in [first, second] * BURST))
        return in_turn + list(at_once)


def test_two_api_processes_share_one_partner_bucket(settings: Settings, dev_env: Any, tmp_path: Path) -> None:
    partner, token = new_partner(), "partner-secret"
    env = api_env(
        settings,
        dev_env.client.service_client.config.target_host,
        STEPWISE_API__PARTNER_TOKEN_HASHES=json.dumps({partner: hash_token(token)}),
        STEPWISE_B2B__BURST=str(BURST),
        STEPWISE_B2B__RATE_PER_SECOND=str(RATE_PER_SECOND),
    )
    with running_api(env, tmp_path, "api-a") as first, running_api(env, tmp_path, "api-b") as second:
        answers = asyncio.run(_requests(first.url, second.url, partner, token))

    statuses = [r.status_code for _, r in answers]
    assert statuses[:2] == [404, 404], "each process took a token"
    assert statuses.count(404) == BURST, statuses  # not BURST per process
    refused = [r for _, r in answers if r.status_code == 429]
    assert len(refused) == len(answers) - BURST
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert all(r.json()["errors"] == [] and r.json()["detail"] for r in refused)
