"""The B2B API over HTTP: submissions, idempotency, validation, partner isolation, rate limiting."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.support.b2b import api_server, new_partner, note, transactions_of, with_tokens
from worker.api.ratelimit import PartnerRateLimiter
from worker.settings import Settings

OPERATOR = "op-token"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def partners() -> dict[str, str]:
    return {new_partner(): "token-a", new_partner(): "token-b"}


async def test_form_and_json_submissions_of_one_transaction_are_one_and_other_content_is_409(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    http: httpx.AsyncClient,
    partners: dict[str, str],
) -> None:
    partner, token = next(iter(partners.items()))
    message = note(687, 329)
    async with api_server(with_tokens(settings, OPERATOR, partners), dev_env.client, sessions) as base:
        url = f"{base}/partners/{partner}/transactions"
        form = await http.post(
            url, data={"transactionId": "12", "transactionMessage": f" {message}"}, headers=_auth(token)
        )
        again = await http.post(url, json={"transactionId": "12", "transactionMessage": message}, headers=_auth(token))
        clash = await http.post(
            url, json={"transactionId": "12", "transactionMessage": note(1, 2)}, headers=_auth(token)
        )
    assert form.status_code == 202, form.text
    assert form.json()["status_url"] == f"{base}/partners/{partner}/transactions/12"
    assert form.json()["workflow_id"] == f"b2b-{partner}-12"
    assert (again.status_code, again.json()["resubmission"]) == (202, True)
    assert clash.status_code == 409 and clash.json()["detail"] == "transaction 12 already exists with different content"
    rows = await transactions_of(sessions, partner)
    assert list(rows) == ["12"] and rows["12"].message == message
    description = await dev_env.client.get_workflow_handle(f"b2b-{partner}-12").describe()
    assert description.workflow_type == "B2BTransactionWorkflow"
    await dev_env.client.get_workflow_handle(f"b2b-{partner}-12").terminate("test over")


async def test_bad_submissions_are_refused_naming_the_field(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    http: httpx.AsyncClient,
    partners: dict[str, str],
) -> None:
    partner, token = next(iter(partners.items()))
    async with api_server(with_tokens(settings, OPERATOR, partners), dev_env.client, sessions) as base:
        url = f"{base}/partners/{partner}/transactions"
        no_id = await http.post(url, data={"transactionMessage": note(1, 2)}, headers=_auth(token))
        bad_id = await http.post(url, json={"transactionId": "a b", "transactionMessage": "x"}, headers=_auth(token))
        empty = await http.post(url, json={"transactionId": "1", "transactionMessage": ""}, headers=_auth(token))
        text = await http.post(url, content="hello", headers={"Content-Type": "text/plain", **_auth(token)})
        not_json = await http.post(url, content="{", headers={"Content-Type": "application/json", **_auth(token)})
    assert no_id.status_code == 422 and no_id.json()["detail"].startswith("transactionId: Field required")
    assert bad_id.status_code == 422 and bad_id.json()["errors"][0]["field"] == "transactionId"
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "transactionMessage"
    assert text.status_code == 415
    assert not_json.status_code == 422
    assert await transactions_of(sessions, partner) == {}


async def test_partner_ids_that_would_share_another_partners_workflow_ids_are_refused(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    http: httpx.AsyncClient,
    partners: dict[str, str],
) -> None:
    # "-" ends the partner's part of b2b-<partner>-<TransactionID>: partner "<p>-eu" sending "1"
    # would be partner <p> sending "eu-1". "batch" would share the batches' b2b-batch-... ids.
    partner, token = next(iter(partners.items()))
    body = {"transactionId": "1", "transactionMessage": note(1, 2)}
    async with api_server(with_tokens(settings, OPERATOR, partners), dev_env.client, sessions) as base:
        dashed = await http.post(f"{base}/partners/{partner}-eu/transactions", json=body, headers=_auth(OPERATOR))
        reserved = await http.post(f"{base}/partners/batch/transactions", json=body, headers=_auth(OPERATOR))
        own = await http.post(
            f"{base}/partners/{partner}/transactions",
            json={"transactionId": "eu-1", "transactionMessage": note(1, 2)},
            headers=_auth(token),
        )
    assert dashed.status_code == 422 and dashed.json()["errors"][0]["field"] == "partner"
    assert reserved.status_code == 404 and reserved.json()["detail"] == "no partner batch"
    assert own.status_code == 202 and own.json()["workflow_id"] == f"b2b-{partner}-eu-1"
    assert list(await transactions_of(sessions, f"{partner}-eu")) == []
    assert list(await transactions_of(sessions, "batch")) == []
    assert list(await transactions_of(sessions, partner)) == ["eu-1"]
    await dev_env.client.get_workflow_handle(f"b2b-{partner}-eu-1").terminate("test over")


async def test_partners_act_only_as_themselves_and_operators_read_all(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    http: httpx.AsyncClient,
    partners: dict[str, str],
) -> None:
    (a, token_a), (b, token_b) = partners.items()
    async with api_server(with_tokens(settings, OPERATOR, partners), dev_env.client, sessions) as base:
        body = {"transactionId": "7", "transactionMessage": note(1, 2)}
        posted = await http.post(f"{base}/partners/{a}/transactions", json=body, headers=_auth(token_a))
        as_b = await http.post(f"{base}/partners/{a}/transactions", json=body, headers=_auth(token_b))
        read_by_b = await http.get(f"{base}/partners/{a}/transactions/7", headers=_auth(token_b))
        batch_by_b = await http.get(f"{base}/partners/{a}/batches/abc", headers=_auth(token_b))
        anonymous = await http.get(f"{base}/partners/{a}/transactions/7")
        unknown = await http.get(f"{base}/partners/{a}/transactions/7", headers=_auth("nope"))
        by_operator = await http.get(f"{base}/partners/{a}/transactions/7", headers=_auth(OPERATOR))
        own_missing = await http.get(f"{base}/partners/{b}/transactions/7", headers=_auth(token_b))
    assert posted.status_code == 202
    assert (as_b.status_code, read_by_b.status_code, batch_by_b.status_code) == (403, 403, 403)
    assert (anonymous.status_code, unknown.status_code) == (401, 401)
    assert by_operator.status_code == 200 and by_operator.json()["partner_id"] == a
    assert own_missing.status_code == 404
    assert list(await transactions_of(sessions, b)) == []
    await dev_env.client.get_workflow_handle(f"b2b-{a}-7").terminate("test over")


async def test_each_partner_is_rate_limited_on_its_own(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    http: httpx.AsyncClient,
    partners: dict[str, str],
) -> None:
    (a, token_a), (b, token_b) = partners.items()
    limited = with_tokens(settings, OPERATOR, partners, rate_per_second=0.5, burst=3)
    async with api_server(limited, dev_env.client, sessions) as base:
        answers = [(await http.get(f"{base}/partners/{a}/transactions/x", headers=_auth(token_a))) for _ in range(4)]
        other = await http.get(f"{base}/partners/{b}/transactions/x", headers=_auth(token_b))
        operator = [(await http.get(f"{base}/partners/{a}/transactions/x", headers=_auth(OPERATOR))) for _ in range(5)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert answers[3].headers["Retry-After"] == "2"
    assert other.status_code == 404
    assert {r.status_code for r in operator} == {404}


async def test_a_token_bucket_refills_at_its_rate_up_to_its_burst(sessions: SessionMaker) -> None:
    limiter = PartnerRateLimiter(sessions, rate=2.0, burst=2)
    p, q = new_partner(), new_partner()
    assert [await limiter.retry_after(p) for _ in range(3)] == [0, 0, 1]
    await asyncio.sleep(0.6)  # one token back (one per 0.5 s)
    assert [await limiter.retry_after(p) for _ in range(2)] == [0, 1]
    await asyncio.sleep(1.5)  # never more than the burst
    assert [await limiter.retry_after(p) for _ in range(3)] == [0, 0, 1]
    assert await limiter.retry_after(q) == 0
