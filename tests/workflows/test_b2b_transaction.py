"""B2BTransactionWorkflow on the dev server with the real activities, moto, Postgres and the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.aws import AwsClients
from activities.b2b import (
    B2BTransactionActivities,
    EnrichedTransaction,
    FormattedTransaction,
    TransactionInput,
    dynamodb_key,
)
from activities.b2b_records import transaction_workflow_id
from activities.db import SessionMaker
from activities.models import B2BQuarantine
from activities.resources import Resources
from tests.support.b2b import new_partner, note, trail, transactions_of
from worker.devstack.emulators.enrichment import describe_user
from worker.settings import Settings
from workflows.b2b import B2BTransactionWorkflow, TransactionResult


async def _run(env: WorkflowEnvironment, settings: Settings, request: TransactionInput) -> WorkflowHandle[Any, Any]:
    return await env.client.start_workflow(
        B2BTransactionWorkflow.run,
        request,
        id=transaction_workflow_id(request.partner_id, request.transaction_id),
        task_queue=settings.worker.task_queue,
    )


async def _attempts(handle: WorkflowHandle[Any, Any], activity: str) -> int:
    history = await handle.fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity
    }
    return max(
        (
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
        ),
        default=0,
    )


async def test_a_well_formed_note_is_formatted_enriched_and_stored(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        handle = await _run(dev_env, settings, TransactionInput(partner, "T-1", note(57, 732)))
        result: TransactionResult = await handle.result()
    assert (result.status, result.from_user_id, result.to_user_id) == ("STORED", "57", "732")
    row = (await transactions_of(sessions, partner))["T-1"]
    assert trail(row) == ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"]
    assert row.enrichment is not None and row.enrichment["fromUser"] == describe_user("57")
    item = await aws.call(
        "dynamodb",
        "get_item",
        TableName=resources.b2b_transactions_table,
        Key={"transactionKey": {"S": dynamodb_key(partner, "T-1")}},
    )
    assert item["Item"]["fromUserId"]["S"] == "57" and item["Item"]["toUserId"]["S"] == "732"
    assert json.loads(item["Item"]["enrichment"]["S"])["toUser"] == describe_user("732")


async def test_a_malformed_note_is_quarantined_with_the_reason_and_nothing_stored(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        handle = await _run(dev_env, settings, TransactionInput(partner, "T-2", "Paid 20 EUR to user 7"))
        result: TransactionResult = await handle.result()
    assert result.status == "QUARANTINED"
    assert result.reason is not None and "format" in result.reason and "Transaction made between" in result.reason
    row = (await transactions_of(sessions, partner))["T-2"]
    assert trail(row) == ["RECEIVED", "QUARANTINED"]
    assert row.reason == result.reason
    async with sessions() as session:
        kept = await session.get(B2BQuarantine, f"txn:{partner}:T-2")
    assert kept is not None and kept.content == "Paid 20 EUR to user 7" and kept.scope == "transaction"
    item = await aws.call(
        "dynamodb",
        "get_item",
        TableName=resources.b2b_transactions_table,
        Key={"transactionKey": {"S": dynamodb_key(partner, "T-2")}},
    )
    assert "Item" not in item
    history = await handle.fetch_history()
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 1  # the format step ran (as a local activity) once and was not retried


async def test_enrichment_5xx_is_retried_until_it_answers(
    dev_env: WorkflowEnvironment, settings: Settings, stepwise_worker: Any, sessions: SessionMaker
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        handle = await _run(dev_env, settings, TransactionInput(partner, "T-3", note(5030, 1)))
        result: TransactionResult = await handle.result()
    assert result.status == "STORED"
    assert await _attempts(handle, "b2b_enrich_transaction") == 3  # the flaky user fails twice
    assert trail((await transactions_of(sessions, partner))["T-3"]) == ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"]


async def test_enrichment_4xx_is_not_retried_and_quarantines(
    dev_env: WorkflowEnvironment, settings: Settings, stepwise_worker: Any, sessions: SessionMaker
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        handle = await _run(dev_env, settings, TransactionInput(partner, "T-4", note(4040, 1)))
        result: TransactionResult = await handle.result()
    assert result.status == "QUARANTINED"
    assert result.reason is not None and "422" in result.reason and "unknown user 4040" in result.reason
    assert await _attempts(handle, "b2b_enrich_transaction") == 1
    assert trail((await transactions_of(sessions, partner))["T-4"]) == ["RECEIVED", "FORMATTED", "QUARANTINED"]


async def test_storing_twice_writes_the_item_once(
    settings: Settings, sessions: SessionMaker, aws: AwsClients, resources: Resources, partner_http: Any
) -> None:
    partner = new_partner()
    activities = B2BTransactionActivities(aws, sessions, resources, partner_http, settings.partners.enrichment_url)
    env = ActivityEnvironment()
    formatted = await env.run(activities.format_transaction, TransactionInput(partner, "T-5", note(1, 2)))
    first = await env.run(activities.store_transaction, EnrichedTransaction(formatted, {"riskScore": 0.1}))
    changed = FormattedTransaction(partner, "T-5", "999", "998")
    second = await env.run(activities.store_transaction, EnrichedTransaction(changed, {"riskScore": 0.9}))
    assert (first.already_stored, second.already_stored) == (False, True)
    item = await aws.call(
        "dynamodb", "get_item", TableName=resources.b2b_transactions_table, Key={"transactionKey": {"S": first.key}}
    )
    assert item["Item"]["fromUserId"]["S"] == "1"  # the first write stands
    assert trail((await transactions_of(sessions, partner))["T-5"]).count("STORED") == 1


async def test_an_enrichment_outage_fails_the_transaction_recorded_and_dead_lettered(
    time_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
    emulators: Any,
) -> None:
    partner = new_partner()
    emulators.state.enrichment.fail_next = 1000  # every attempt answers 503
    try:
        async with stepwise_worker(time_env.client):  # time skips over the retry backoff
            handle = await _run(time_env, settings, TransactionInput(partner, "T-6", note(1, 2)))
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
    finally:
        emulators.state.enrichment.fail_next = 0
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "EnrichmentUnavailable"
    assert await _attempts(handle, "b2b_enrich_transaction") == 8
    row = (await transactions_of(sessions, partner))["T-6"]
    assert trail(row) == ["RECEIVED", "FORMATTED", "FAILED"]
    assert row.reason == "enrich: enrichment API answered 503"
    url = (await aws.call("sqs", "get_queue_url", QueueName=resources.b2b_dlq))["QueueUrl"]
    received = await aws.call("sqs", "receive_message", QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    stories = [json.loads(m["Body"]) for m in received.get("Messages", [])]
    assert {"kind": "transaction", "partner_id": partner, "transaction_id": "T-6", "status": "FAILED"}.items() <= next(
        s for s in stories if s.get("partner_id") == partner
    ).items()
