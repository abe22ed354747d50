"""A partner's reads draw on its one bucket too, as its starts and its B2B calls do; operators are not limited.

Each test signs a partner of its own in (the buckets live in the shared PostgreSQL, keyed by
partner), with a bucket of two tokens refilled once every 100 seconds: a third request in a
row is refused. Every path names a record that does not exist, so a request that gets
through answers 404 (a delivered translation is looked for in S3: the ``aws`` fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from tests.conftest import OPERATOR_NAME, OPERATOR_TOKEN
from worker.api.app import ApiServices, create_app
from worker.settings import Settings, hash_token

READS = [
    "/bookings/{partner}.b1",
    "/media-jobs/{partner}.m1",
    "/jobs/{partner}.j1",
    "/translation-projects/{partner}-p1",
    "/translation-projects/{partner}-p1/outbound/es/a.txt",
    "/shipments/{partner}.SHP-1",
    "/partners/{partner}/transactions/t1",
]


@asynccontextmanager
async def _a_partner_with_two_tokens(
    env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The API with a new partner (its token is its id) whose bucket holds two tokens; the operator too."""
    partner = f"rl{uuid.uuid4().hex[:12]}"
    api = settings.api.model_copy(
        update={
            "operators": {OPERATOR_NAME: hash_token(OPERATOR_TOKEN)},
            "partner_token_hashes": {partner: hash_token(partner)},
        }
    )
    b2b = settings.b2b.model_copy(update={"rate_per_second": 0.01, "burst": 2})
    app = create_app(
        settings.model_copy(update={"api": api, "b2b": b2b}),
        ApiServices(env.client, sessions, settings.worker.task_queue),
    )
    headers = {"Authorization": f"Bearer {partner}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwise.test", headers=headers) as client:
        yield client, partner


@pytest.mark.parametrize("path", READS)
async def test_a_partner_reading_faster_than_its_rate_is_told_when_to_come_back(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker, aws: AwsClients, path: str
) -> None:
    async with _a_partner_with_two_tokens(dev_env, settings, sessions) as (api, partner):
        answers = [await api.get(path.format(partner=partner)) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429], answers[-1].text
    assert answers[2].json() == {"detail": "rate limit exceeded", "errors": []}
    assert int(answers[2].headers["Retry-After"]) >= 1


async def test_a_start_and_a_read_each_take_one_token_from_the_same_bucket(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    """A start names the rate-limited caller itself as well: still one token per request."""
    async with _a_partner_with_two_tokens(dev_env, settings, sessions) as (api, partner):
        start = await api.post("/bookings", json={"request_id": "b1"})  # refused (422), after its token
        read = await api.get(f"/bookings/{partner}.b1")
        another = await api.get(f"/media-jobs/{partner}.m1")
    assert [start.status_code, read.status_code, another.status_code] == [422, 404, 429]


async def test_operators_reads_are_not_limited(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    async with _a_partner_with_two_tokens(dev_env, settings, sessions) as (api, partner):
        operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        answers = [await api.get(f"/bookings/{partner}.b1", headers=operator) for _ in range(5)]
    assert [a.status_code for a in answers] == [404] * 5


async def test_every_read_a_partner_may_make_documents_the_429(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    for path in (
        "/bookings/{booking_id}",
        "/media-jobs/{job_id}",
        "/jobs/{job_id}",
        "/translation-projects/{project_id}",
        "/shipments/{shipment_id}",
    ):
        limited = document["paths"][path]["get"]["responses"]["429"]
        assert "Retry-After" in limited["headers"], path
