"""Deciding from the console and the API: a skip's substitute checked against the step's output
contract before anything is sent, bulk decisions by filter, and the audit read back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.b2b.contracts import ENRICHMENT_SKIPPED
from activities.b2b.transaction import dynamodb_key
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.console.support import (
    OPERATOR,
    OPERATOR_TOKEN,
    OTHER_OPERATOR,
    OTHER_TOKEN,
    console_client,
    csrf_of,
    sign_in,
)
from tests.support.b2b import enrichment_down, new_partner, start_transactions, trail, transactions_of
from tests.support.step_control import audits, wait_waiting
from worker.settings import Settings


async def _parked_transactions(
    env: WorkflowEnvironment, settings: Settings, partner: str, count: int
) -> list[WorkflowHandle[Any, Any]]:
    handles = await start_transactions(env.client, settings.worker.task_queue, partner, count)
    await asyncio.gather(*(wait_waiting(handle, "enrich", timeout=60) for handle in handles))
    return handles


@pytest.fixture
async def http(dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker) -> Any:
    async with console_client(dev_env.client, settings, sessions) as client:
        yield client


async def test_a_substitute_that_does_not_fit_the_contract_is_shown_next_to_the_field_and_never_sent(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    emulators: Any,
    aws: AwsClients,
    resources: Resources,
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        with enrichment_down(emulators):
            [handle] = await _parked_transactions(dev_env, settings, partner, 1)
            await sign_in(http)
            page = await http.get(f"/console/executions/{handle.id}")
            assert 'data-step="enrich"' in page.text and "EnrichmentUnavailable" in page.text
            form = {"csrf": await csrf_of(http), "step": "enrich", "action": "skip", "reason": "partner gone"}
            for bad, says in (("{", "not JSON"), (json.dumps({"riskScore": 0.4}), "does not fit EnrichedTransaction")):
                refused = await http.post(f"/console/decide/{handle.id}", data={**form, "substitute_output": bad})
                assert refused.status_code == 422
                assert 'data-field="substitute_output"' in refused.text and says in refused.text
            await wait_waiting(handle, "enrich")  # nothing reached the workflow
            assert await audits(sessions, handle.id) == []

            good = {
                "transaction": {"partner_id": partner, "transaction_id": "T-0", "from_user_id": "0", "to_user_id": "1"},
                "enrichment": {"riskScore": 0.4},
            }
            sent = await http.post(f"/console/decide/{handle.id}", data={**form, "substitute_output": json.dumps(good)})
            assert sent.status_code == 303
            assert (await handle.result()).status == "STORED"
    assert [(a.action, a.operator, a.reason) for a in await audits(sessions, handle.id)] == [
        ("skip", OPERATOR, "partner gone")
    ]
    item = await aws.call(
        "dynamodb",
        "get_item",
        TableName=resources.b2b_transactions_table,
        Key={"transactionKey": {"S": dynamodb_key(partner, "T-0")}},
    )
    assert json.loads(item["Item"]["enrichment"]["S"]) == {"riskScore": 0.4}


async def test_a_bulk_skip_over_the_api_decides_each_match_once_audited_under_the_token_owner(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    emulators: Any,
) -> None:
    partner = new_partner()
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    async with stepwise_worker(dev_env.client):
        with enrichment_down(emulators):
            handles = await _parked_transactions(dev_env, settings, partner, 3)
            selection = {"pipeline": "b2b", "step": "enrich", "error_type": "EnrichmentUnavailable"}
            ids = {h.id for h in handles}
            for _ in range(50):  # visibility lags the park by a moment
                dry = await http.post(
                    "/decisions/bulk",
                    json={"selection": selection, "action": "skip", "dry_run": True},
                    headers=operator,
                )
                matched = {m["workflow_id"] for m in dry.json()["matched"]}
                if ids <= matched and all(m["error_type"] for m in dry.json()["matched"]):
                    break
                await asyncio.sleep(0.2)
            assert ids <= matched
            stale = await http.post(
                "/decisions/bulk",
                json={"selection": selection, "action": "skip", "expected_count": len(matched) + 1},
                headers=operator,
            )
            assert stale.status_code == 409 and "expected_count" in stale.json()["detail"]
            body = {"selection": selection, "action": "skip", "reason": "enrichment retired", "batch_id": "b-1"}
            done = await http.post("/decisions/bulk", json={**body, "expected_count": len(matched)}, headers=operator)
            assert done.status_code == 200
            mine = [o for o in done.json()["outcomes"] if o["workflow_id"] in ids]
            assert [o["accepted"] for o in mine] == [True, True, True]
            results = await asyncio.gather(*(h.result() for h in handles))
    assert {r.status for r in results} == {"STORED"}
    rows = await transactions_of(sessions, partner)
    assert all(trail(rows[f"T-{n}"])[-1] == "STORED" for n in range(3))
    for handle in handles:
        assert [(a.action, a.operator) for a in await audits(sessions, handle.id)] == [("skip", OPERATOR)]
    # The decision log, read back over the API, by another operator.
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    log = await http.get("/decisions", params={"pipeline": "b2b", "operator": OPERATOR}, headers=other)
    logged = [row for row in log.json()["items"] if row["workflow_id"] in ids]
    assert len(logged) == 3 and {row["reason"] for row in logged} == {"enrichment retired"}
    by_other = await http.get("/decisions", params={"operator": OTHER_OPERATOR, "pipeline": "b2b"}, headers=other)
    assert not [row for row in by_other.json()["items"] if row["workflow_id"] in ids]


async def test_an_api_decision_is_audited_under_the_token_owner_not_a_field(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    emulators: Any,
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        with enrichment_down(emulators):
            [handle] = await _parked_transactions(dev_env, settings, partner, 1)
        body = {"step": "enrich", "action": "retry", "operator": "someone-else", "reason": "api is back"}
        decided = await http.post(
            f"/workflows/{handle.id}/decisions", json=body, headers={"Authorization": f"Bearer {OTHER_TOKEN}"}
        )
        assert decided.status_code == 200, decided.text
        assert (await handle.result()).status == "STORED"
    assert [(a.action, a.operator) for a in await audits(sessions, handle.id)] == [("retry", OTHER_OPERATOR)]


async def test_a_plain_skip_of_enrichment_stores_the_transaction_marked_unenriched(
    http: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    emulators: Any,
    aws: AwsClients,
    resources: Resources,
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        with enrichment_down(emulators):
            [handle] = await _parked_transactions(dev_env, settings, partner, 1)
            await sign_in(http)
            form = {"csrf": await csrf_of(http), "step": "enrich", "action": "skip", "reason": "no enrichment"}
            assert (await http.post(f"/console/decide/{handle.id}", data=form)).status_code == 303
            assert (await handle.result()).status == "STORED"
    item = await aws.call(
        "dynamodb",
        "get_item",
        TableName=resources.b2b_transactions_table,
        Key={"transactionKey": {"S": dynamodb_key(partner, "T-0")}},
    )
    assert json.loads(item["Item"]["enrichment"]["S"]) == {ENRICHMENT_SKIPPED: "skipped by an operator"}
