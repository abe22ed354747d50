"""The B2B pipeline end to end: CLI upload -> S3 event -> SQS -> intake -> batch -> transactions,
and the real-time API, on the dev server with moto, Postgres and the enrichment emulator."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_id_for, batch_workflow_id
from activities.b2b.transaction import dynamodb_key
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.support.b2b import (
    api_server,
    b2b_worker,
    finished_batch,
    isolated_resources,
    new_partner,
    prefixed,
    put_inbound,
    trail,
    transactions_of,
    wait_for,
    with_tokens,
)
from tests.support.processes import stack_env, stepwise
from worker.settings import Settings

SAMPLE_PAIRS = {
    "1": ("57", "732"),
    "2": ("9824", "2739"),
    "3": ("126", "543"),
    "4": ("5785", "839"),
    "5": ("83782", "547"),
    "6": ("64783", "1638"),
    "7": ("785", "7493"),
    "8": ("5473", "3829"),
    "9": ("3474", "9372"),
    "10": ("1537", "9473"),
    "11": ("2837", "7383"),
}
OPERATOR = "operator-token"


@pytest.fixture(scope="module")
def b2b_resources(aws_endpoint: str) -> Resources:
    """This module's own bucket, intake queue and table."""
    return isolated_resources()


@pytest.fixture
def b2b_settings(settings: Settings, b2b_resources: Resources) -> Settings:
    return prefixed(settings, b2b_resources)


def _cli_env(dev_env: WorkflowEnvironment, settings: Settings) -> dict[str, str]:
    return stack_env(dev_env, settings, STEPWISE_AWS__NAME_PREFIX=settings.aws.name_prefix)


async def _cli(dev_env: WorkflowEnvironment, settings: Settings, *args: str) -> Any:
    return await asyncio.to_thread(stepwise, *args, env=_cli_env(dev_env, settings))


async def test_the_samples_are_stored_and_visible_only_to_their_partner(
    dev_env: WorkflowEnvironment,
    b2b_settings: Settings,
    b2b_resources: Resources,
    sessions: SessionMaker,
    aws: AwsClients,
    http: httpx.AsyncClient,
    partner_http: aiohttp.ClientSession,
    samples_dir: Path,
) -> None:
    partner, other = new_partner(), new_partner()
    tokens = {partner: f"{partner}-token", other: f"{other}-token"}
    api_settings = with_tokens(b2b_settings, OPERATOR, tokens)
    async with (
        b2b_worker(dev_env.client, b2b_settings, sessions, b2b_resources, aws, partner_http),
        api_server(api_settings, dev_env.client, sessions) as base,
    ):
        uploaded = await _cli(
            dev_env,
            b2b_settings,
            *("b2b", "upload", str(samples_dir / "transactions.xml"), "--partner", partner, "--wait", "60"),
        )
        assert uploaded.returncode == 0, uploaded.stderr
        batch_id = re.search(r"batch ([0-9a-f]{24})", uploaded.stdout).group(1)  # type: ignore[union-attr]
        assert "COMPLETED" in uploaded.stdout and "stored 11" in uploaded.stdout, uploaded.stdout
        batch = await finished_batch(sessions, batch_id)

        sample = (samples_dir / "realtime-transaction.txt").read_text().strip()
        as_partner = {"Authorization": f"Bearer {tokens[partner]}"}
        form = {"Content-Type": "application/x-www-form-urlencoded", **as_partner}
        posted = await http.post(f"{base}/partners/{partner}/transactions", content=sample, headers=form)
        assert posted.status_code == 202, posted.text
        status_url = posted.json()["status_url"]
        assert posted.headers["Location"] == status_url

        async def stored() -> Any:
            answer = await http.get(status_url, headers=as_partner)
            return answer.json() if answer.json().get("status") == "STORED" else None

        realtime = await wait_for(stored, 30)
        batch_view = await http.get(f"{base}/partners/{partner}/batches/{batch_id}", headers=as_partner)
        foreign = await http.get(status_url, headers={"Authorization": f"Bearer {tokens[other]}"})
        foreign_batch = await http.get(
            f"{base}/partners/{partner}/batches/{batch_id}", headers={"Authorization": f"Bearer {tokens[other]}"}
        )
        operator = await http.get(status_url, headers={"Authorization": f"Bearer {OPERATOR}"})

    assert batch.status == "COMPLETED"
    assert batch.report is not None and batch.report["stored"] == 11 and batch.report["accepted"] == 11
    rows = await transactions_of(sessions, partner)
    assert {tid: (r.from_user_id, r.to_user_id) for tid, r in rows.items() if tid != "12"} == SAMPLE_PAIRS
    assert all(trail(r) == ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"] for r in rows.values())
    assert (realtime["transaction_id"], realtime["from_user_id"], realtime["to_user_id"]) == ("12", "687", "329")
    assert realtime["source"] == "realtime"
    assert batch_view.status_code == 200 and batch_view.json()["report"]["stored"] == 11
    assert (foreign.status_code, foreign_batch.status_code, operator.status_code) == (403, 403, 200)
    assert await transactions_of(sessions, other) == {}

    status = await _cli(dev_env, b2b_settings, "b2b", "status", partner, "12", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "STORED"
    shown = await _cli(dev_env, b2b_settings, "b2b", "batch", partner, batch_id)
    assert "COMPLETED" in shown.stdout and "stored 11" in shown.stdout
    missing = await _cli(dev_env, b2b_settings, "b2b", "status", partner, "404")
    assert missing.returncode == 1 and missing.stderr.strip() == f"stepwise: no transaction 404 for partner {partner}"


async def test_a_file_uploaded_twice_and_an_event_delivered_twice_process_nothing_twice(
    dev_env: WorkflowEnvironment,
    b2b_settings: Settings,
    b2b_resources: Resources,
    sessions: SessionMaker,
    aws: AwsClients,
    http: httpx.AsyncClient,
    partner_http: aiohttp.ClientSession,
    samples_dir: Path,
    emulators: Any,
) -> None:
    partner = new_partner()
    body = (samples_dir / "transactions.xml").read_bytes()
    async with b2b_worker(dev_env.client, b2b_settings, sessions, b2b_resources, aws, partner_http):
        key, etag = await put_inbound(aws, b2b_resources, partner, "day 1+batch.xml", body)  # URL-encoded in events
        first = await finished_batch(sessions, batch_id_for(partner, key, etag))
        # The same object version again (same key, same ETag) and a raw redelivery of its event.
        await put_inbound(aws, b2b_resources, partner, "day 1+batch.xml", body)
        await _redeliver(aws, b2b_resources, key, etag)
        # The same content under another name: a new batch whose records were all received before.
        copy_key, copy_etag = await put_inbound(aws, b2b_resources, partner, "day 1 again.xml", body)
        second = await finished_batch(sessions, batch_id_for(partner, copy_key, copy_etag))
        await wait_for(lambda: _queue_empty(aws, b2b_resources), 30)

    runs = [
        e async for e in dev_env.client.list_workflows(f"WorkflowId = '{batch_workflow_id(partner, first.batch_id)}'")
    ]
    assert len(runs) == 1
    assert first.report is not None and first.report["stored"] == 11
    assert second.report is not None
    assert (second.report["already_received"], second.report["stored"], second.report["accepted"]) == (11, 0, 11)
    rows = await transactions_of(sessions, partner)
    assert len(rows) == 11 and all(
        trail(r).count("STORED") == 1 and r.batch_id == first.batch_id for r in rows.values()
    )
    calls = emulators.state.enrichment.calls
    assert all(calls[f"{partner}/{tid}"] == 1 for tid in SAMPLE_PAIRS)
    for tid in SAMPLE_PAIRS:
        item = await aws.call(
            "dynamodb",
            "get_item",
            TableName=b2b_resources.b2b_transactions_table,
            Key={"transactionKey": {"S": dynamodb_key(partner, tid)}},
        )
        assert item["Item"]["batchId"]["S"] == first.batch_id


async def _redeliver(aws: AwsClients, resources: Resources, key: str, etag: str) -> None:
    from urllib.parse import quote_plus

    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": resources.b2b_bucket}, "object": {"key": quote_plus(key), "eTag": etag}},
            }
        ]
    }
    url = (await aws.call("sqs", "get_queue_url", QueueName=resources.b2b_intake_queue))["QueueUrl"]
    await aws.call("sqs", "send_message", QueueUrl=url, MessageBody=json.dumps(event))


async def _queue_empty(aws: AwsClients, resources: Resources) -> bool:
    url = (await aws.call("sqs", "get_queue_url", QueueName=resources.b2b_intake_queue))["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = (await aws.call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=names))["Attributes"]
    return all(attributes[name] == "0" for name in names)
