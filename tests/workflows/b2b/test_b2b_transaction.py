"""B2BTransactionWorkflow on the dev server with the real activities, moto, Postgres and the emulator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.b2b.batch import transaction_input, transaction_search_attributes
from activities.b2b.contracts import (
    ENRICH_TRANSACTION,
    EnrichedTransaction,
    FormattedTransaction,
    TransactionInput,
    TransactionResult,
)
from activities.b2b.records import Submission, admit, transaction_workflow_id
from activities.b2b.transaction import B2BTransactionActivities, dynamodb_key
from activities.common.aws import AwsClients
from activities.common.contracts import (
    DECIDE_UPDATE,
    STEPS_QUERY,
    DecisionOutcome,
    StepControlStatus,
    StepDecision,
    StepState,
)
from activities.common.contracts import STEP_ABORTED as ABORTED
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.b2b import B2BQuarantine
from tests.support.b2b import enrichment_down, new_partner, note, trail, transactions_of
from tests.support.processes import stack_env, stepwise
from tests.support.step_control import wait_waiting
from worker.devstack.emulators.enrichment import describe_user
from worker.settings import Settings
from workflows.b2b.transaction import B2BTransactionWorkflow

LOCAL_ACTIVITY_MARKER = "core_local_activity"


async def _run(env: WorkflowEnvironment, settings: Settings, request: TransactionInput) -> WorkflowHandle[Any, Any]:
    """Start the transaction as the API and the batch do (its workflow id and search attributes)."""
    return await env.client.start_workflow(
        B2BTransactionWorkflow.run,
        request,
        id=transaction_workflow_id(request.partner_id, request.transaction_id),
        task_queue=settings.worker.task_queue,
        search_attributes=transaction_search_attributes(request.partner_id, request.transaction_id),
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
    markers = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    ]
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


async def _parked(handle: WorkflowHandle[Any, Any], step: str) -> tuple[StepState, asyncio.Task[Any]]:
    """Wait until ``step`` parks; the returned task ends with the workflow."""
    ending = asyncio.ensure_future(handle.result())
    return await wait_waiting(handle, step, timeout=60), ending


async def _listed_in_attention(env: WorkflowEnvironment, settings: Settings, workflow_id: str) -> dict[str, Any]:
    """The execution's line in ``stepwise attention --json`` (visibility may lag a moment)."""
    for _ in range(50):
        listed = await asyncio.to_thread(stepwise, "attention", "--json", env=stack_env(env, settings))
        assert listed.returncode == 0, listed.stderr
        mine = [item for item in json.loads(listed.stdout) if item["workflow_id"] == workflow_id]
        if mine:
            return dict(mine[0])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} is not in stepwise attention")


async def _refused(handle: WorkflowHandle[Any, Any], step: str, action: str, **fields: Any) -> str:
    """The validator's reason for refusing a decision."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _decide(handle, step, action, **fields)
    assert isinstance(refused.value.cause, ApplicationError)
    return refused.value.cause.message


async def _decide(handle: WorkflowHandle[Any, Any], step: str, action: str, **fields: Any) -> None:
    decision = StepDecision(step=step, action=action, operator="ada", reason=f"{action} in a test", **fields)
    await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)


async def test_an_enrichment_outage_parks_the_transaction_and_an_abort_fails_it_recorded_and_dead_lettered(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
    emulators: Any,
) -> None:
    partner = new_partner()
    with enrichment_down(emulators):
        async with stepwise_worker(dev_env.client):
            handle = await _run(dev_env, settings, TransactionInput(partner, "T-6", note(1, 2)))
            parked, ending = await _parked(handle, "enrich")
            assert (parked.last_error_type, parked.attempts) == ("EnrichmentUnavailable", 8)
            assert trail((await transactions_of(sessions, partner))["T-6"]) == ["RECEIVED", "FORMATTED"]
            await _decide(handle, "enrich", "abort")
            with pytest.raises(WorkflowFailureError) as failed:
                await ending
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ABORTED
    assert await _attempts(handle, "b2b_enrich_transaction") == 8
    row = (await transactions_of(sessions, partner))["T-6"]
    assert trail(row) == ["RECEIVED", "FORMATTED", "FAILED"]
    assert row.reason == "enrich: step enrich aborted by ada: abort in a test"
    url = (await aws.call("sqs", "get_queue_url", QueueName=resources.b2b_dlq))["QueueUrl"]
    received = await aws.call("sqs", "receive_message", QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    stories = [json.loads(m["Body"]) for m in received.get("Messages", [])]
    assert {"kind": "transaction", "partner_id": partner, "transaction_id": "T-6", "status": "FAILED"}.items() <= next(
        s for s in stories if s.get("partner_id") == partner
    ).items()


async def test_an_enrichment_outage_parked_then_retried_once_the_api_answers_stores_the_transaction(
    dev_env: WorkflowEnvironment, settings: Settings, stepwise_worker: Any, sessions: SessionMaker, emulators: Any
) -> None:
    partner = new_partner()
    async with stepwise_worker(dev_env.client):
        with enrichment_down(emulators):
            handle = await _run(dev_env, settings, TransactionInput(partner, "T-7", note(3, 4)))
            _, ending = await _parked(handle, "enrich")
            listed = await _listed_in_attention(dev_env, settings, handle.id)
            assert (listed["pipeline"], listed["step"], listed["error_type"]) == (
                "b2b",
                "enrich",
                "EnrichmentUnavailable",
            )
        # The outage is over: the operator retries from the CLI.
        decided = await asyncio.to_thread(
            stepwise,
            *("decide", handle.id, "enrich", "retry", "--operator", "ada", "--reason", "enrichment API is back"),
            env=stack_env(dev_env, settings),
        )
        assert decided.returncode == 0, decided.stderr
        result: TransactionResult = await ending
    assert result.status == "STORED"
    assert trail((await transactions_of(sessions, partner))["T-7"]) == ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"]


async def test_a_parked_enrichment_skipped_with_a_substitute_stores_what_the_operator_gave(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    stepwise_worker: Any,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
    emulators: Any,
) -> None:
    partner = new_partner()
    formatted = FormattedTransaction(partner, "T-8", "5", "6")
    substitute = {"transaction": formatted.__dict__, "enrichment": {"riskScore": 0.42, "source": "operator"}}
    async with stepwise_worker(dev_env.client):
        with enrichment_down(emulators):
            handle = await _run(dev_env, settings, TransactionInput(partner, "T-8", note(5, 6)))
            _, ending = await _parked(handle, "enrich")
            # A substitute must have the enrichment's shape (a plain skip stores without enrichment).
            wrong = await _refused(handle, "enrich", "skip", substitute_output={"riskScore": 0.42})
            assert "does not fit EnrichedTransaction" in wrong
            await _decide(handle, "enrich", "skip", substitute_output=substitute)
        result: TransactionResult = await ending
    assert result.status == "STORED"
    item = await aws.call(
        "dynamodb",
        "get_item",
        TableName=resources.b2b_transactions_table,
        Key={"transactionKey": {"S": dynamodb_key(partner, "T-8")}},
    )
    assert json.loads(item["Item"]["enrichment"]["S"]) == {"riskScore": 0.42, "source": "operator"}


async def test_admission_formats_a_well_formed_note_and_the_workflow_runs_no_format_step(
    dev_env: WorkflowEnvironment, settings: Settings, stepwise_worker: Any, sessions: SessionMaker
) -> None:
    partner = new_partner()
    submissions = [
        Submission(partner, "T-10", note(57, 732), "batch", "batch-1"),
        Submission(partner, "T-11", "Paid 20 EUR to user 7", "batch", "batch-1"),
    ]
    async with sessions.begin() as session:
        formed, malformed = await admit(session, submissions)
    assert (formed.verdict, formed.status, formed.users) == ("new", "FORMATTED", ("57", "732"))
    assert (malformed.verdict, malformed.status, malformed.users) == ("new", "RECEIVED", None)
    rows = await transactions_of(sessions, partner)
    assert trail(rows["T-10"]) == ["RECEIVED", "FORMATTED"]
    assert (rows["T-10"].from_user_id, rows["T-10"].to_user_id) == ("57", "732")
    assert trail(rows["T-11"]) == ["RECEIVED"] and rows["T-11"].from_user_id is None
    async with sessions.begin() as session:  # the same submission again: same verdict, still formatted
        (again,) = await admit(session, submissions[:1])
    assert (again.verdict, again.users) == ("same", ("57", "732"))

    requests = [transaction_input(s, a) for s, a in zip(submissions, (formed, malformed), strict=True)]
    assert requests[0].formatted() is not None and requests[1].formatted() is None
    async with stepwise_worker(dev_env.client):
        handles = [await _run(dev_env, settings, request) for request in requests]
        stored, quarantined = [await handle.result() for handle in handles]
        # The steps each ran: no format step for the note admission formatted.
        steps = [await _step_names(handle) for handle in handles]
    assert steps == [["enrich", "store"], ["format", "settle"]]
    assert (stored.status, stored.from_user_id, stored.to_user_id) == ("STORED", "57", "732")
    assert quarantined.status == "QUARANTINED" and "Transaction made between" in (quarantined.reason or "")
    rows = await transactions_of(sessions, partner)
    assert trail(rows["T-10"]) == ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"]
    assert trail(rows["T-11"]) == ["RECEIVED", "QUARANTINED"]
    assert await _attempts(handles[0], ENRICH_TRANSACTION.name) == 1


async def _step_names(handle: WorkflowHandle[Any, Any]) -> list[str]:
    status = await handle.query(STEPS_QUERY, result_type=StepControlStatus)
    return [step.name for step in status.steps]
