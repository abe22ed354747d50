"""`call_aws` through a real workflow on the dev server, against the AWS emulator.

Throttling and access denied come from a fault proxy in front of the emulator, so
botocore parses real AWS error responses; the retries are Temporal's, visible in history.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsActivities, AwsClients
from activities.common.contracts import AwsCallInput, AwsCallOutput
from activities.common.resources import Resources
from tests.support.aws_fault_proxy import AwsFaultProxy, Fault
from tests.workflows.common.call_aws_probe import CallAwsProbe


@pytest.fixture
def dynamodb_proxy(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFaultProxy]:
    proxy = AwsFaultProxy(upstream=aws_endpoint).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    yield proxy
    proxy.stop()


async def _run(env: WorkflowEnvironment, task_queue: str, request: AwsCallInput) -> tuple[object, int]:
    workflow_id = f"call-aws-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[CallAwsProbe], activities=[AwsActivities(AwsClients()).call_aws]
    ):
        handle = await env.client.start_workflow(CallAwsProbe.run, request, id=workflow_id, task_queue=task_queue)
        try:
            result: object = await handle.result()
        except WorkflowFailureError as failure:
            result = failure
        history = await handle.fetch_history()
    attempts = max(
        (
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ),
        default=0,
    )
    return result, attempts


async def test_call_aws_returns_a_json_safe_response(
    dev_env: WorkflowEnvironment, task_queue: str, resources: Resources, aws: AwsClients
) -> None:
    key = f"call-aws/{uuid.uuid4()}.txt"
    await aws.call("s3", "put_object", Bucket=resources.media_bucket, Key=key, Body=b"hello")
    result, attempts = await _run(
        dev_env, task_queue, AwsCallInput("s3", "HeadObject", {"Bucket": resources.media_bucket, "Key": key})
    )
    assert isinstance(result, AwsCallOutput)
    assert result.result["ContentLength"] == 5
    assert isinstance(result.result["LastModified"], str)
    assert attempts == 1


async def test_throttling_is_retried_until_it_succeeds(
    dev_env: WorkflowEnvironment, task_queue: str, resources: Resources, dynamodb_proxy: AwsFaultProxy
) -> None:
    dynamodb_proxy.faults.append(Fault(count=2, error_type="ThrottlingException"))
    probe_id = f"throttled-{uuid.uuid4()}"
    result, attempts = await _run(
        dev_env,
        task_queue,
        AwsCallInput(
            "dynamodb", "PutItem", {"TableName": resources.doctor_table, "Item": {"probeId": {"S": probe_id}}}
        ),
    )
    assert not isinstance(result, Exception)
    assert attempts == 3
    item = await AwsClients().call(
        "dynamodb", "get_item", TableName=resources.doctor_table, Key={"probeId": {"S": probe_id}}
    )
    assert item["Item"]["probeId"]["S"] == probe_id


async def test_access_denied_fails_at_once_with_its_type(
    dev_env: WorkflowEnvironment, task_queue: str, resources: Resources, dynamodb_proxy: AwsFaultProxy
) -> None:
    dynamodb_proxy.faults.append(Fault(count=5, error_type="AccessDeniedException"))
    result, attempts = await _run(
        dev_env, task_queue, AwsCallInput("dynamodb", "DescribeTable", {"TableName": resources.doctor_table})
    )
    assert isinstance(result, WorkflowFailureError)
    assert isinstance(result.cause, ActivityError)
    assert isinstance(result.cause.cause, ApplicationError)
    assert result.cause.cause.type == "AwsAccessDenied"
    assert attempts == 1


async def test_conditional_check_failure_is_not_retried(
    dev_env: WorkflowEnvironment, task_queue: str, resources: Resources, aws: AwsClients
) -> None:
    item = {"probeId": {"S": f"cond-{uuid.uuid4()}"}}
    await aws.call("dynamodb", "put_item", TableName=resources.doctor_table, Item=item)
    result, attempts = await _run(
        dev_env,
        task_queue,
        AwsCallInput(
            "dynamodb",
            "PutItem",
            {"TableName": resources.doctor_table, "Item": item, "ConditionExpression": "attribute_not_exists(probeId)"},
        ),
    )
    assert isinstance(result, WorkflowFailureError)
    assert isinstance(result.cause, ActivityError) and isinstance(result.cause.cause, ApplicationError)
    assert result.cause.cause.type == "ConditionalCheckFailed"
    assert attempts == 1
