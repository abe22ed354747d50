"""The AWS error taxonomy against the emulator: what is retried and what fails typed."""

from __future__ import annotations

import uuid

import boto3
import botocore.exceptions
import pytest
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients, classify_aws_error
from activities.common.resources import Resources
from tests.support.aws_fault_proxy import AwsFaultProxy, Fault


async def test_conditional_check_failure_is_a_typed_non_retryable_error(aws: AwsClients, resources: Resources) -> None:
    item = {"probeId": {"S": f"cond-{uuid.uuid4()}"}}
    condition = "attribute_not_exists(probeId)"
    await aws.call("dynamodb", "PutItem", TableName=resources.doctor_table, Item=item, ConditionExpression=condition)
    with pytest.raises(ApplicationError) as raised:
        await aws.call(
            "dynamodb", "put_item", TableName=resources.doctor_table, Item=item, ConditionExpression=condition
        )
    assert raised.value.type == "ConditionalCheckFailed"
    assert raised.value.non_retryable


async def test_validation_errors_are_non_retryable(aws: AwsClients, resources: Resources) -> None:
    with pytest.raises(ApplicationError) as raised:
        await aws.call("dynamodb", "put_item", TableName=resources.doctor_table, Item={"wrongKey": {"S": "x"}})
    assert raised.value.type == "AwsValidationError"
    assert raised.value.non_retryable


async def test_missing_parameters_fail_before_any_request(aws: AwsClients) -> None:
    with pytest.raises(ApplicationError) as raised:
        await aws.call("s3", "get_object", Bucket="only-a-bucket")
    assert raised.value.type == "AwsValidationError"
    assert raised.value.non_retryable


async def test_a_missing_object_is_not_found(aws: AwsClients, resources: Resources) -> None:
    with pytest.raises(ApplicationError) as raised:
        await aws.call("s3", "get_object", Bucket=resources.media_bucket, Key=f"nope-{uuid.uuid4()}")
    assert raised.value.type == "AwsNotFound"
    assert raised.value.non_retryable


async def test_unknown_services_and_operations_are_rejected(aws: AwsClients) -> None:
    with pytest.raises(ApplicationError, match="unknown AWS service"):
        await aws.call("not-a-service", "Describe")
    with pytest.raises(ApplicationError, match="has no operation 'Teleport'"):
        await aws.call("s3", "Teleport")


async def test_connection_errors_are_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")  # nothing listens there
    clients = AwsClients()
    with pytest.raises(ApplicationError) as raised:
        await clients.call("sqs", "list_queues")
    assert raised.value.type == "AwsConnectionError"
    assert not raised.value.non_retryable


@pytest.mark.parametrize(
    ("code", "status", "expected_type", "retryable"),
    [
        ("ThrottlingException", 400, "AwsThrottled", True),
        ("ProvisionedThroughputExceededException", 400, "AwsThrottled", True),
        ("SlowDown", 503, "AwsThrottled", True),
        ("InternalServerError", 500, "AwsServiceError", True),
        ("AccessDeniedException", 400, "AwsAccessDenied", False),
        ("ResourceNotFoundException", 400, "AwsNotFound", False),
        ("ValidationException", 400, "AwsValidationError", False),
        ("ConditionalCheckFailedException", 400, "ConditionalCheckFailed", False),
        # botocore's standard retry mode retries these; they are not the caller's fault.
        ("RequestTimeout", 400, "AwsServiceError", True),
        ("RequestTimeoutException", 400, "AwsServiceError", True),
        ("BandwidthLimitExceeded", 400, "AwsThrottled", True),
        ("EC2ThrottledException", 400, "AwsThrottled", True),
        ("SomethingNew", 429, "AwsThrottled", True),
        ("SomethingNew", 502, "AwsServiceError", True),
        ("SomethingNew", 400, "AwsValidationError", False),
    ],
)
def test_taxonomy_table(code: str, status: int, expected_type: str, retryable: bool) -> None:
    error = botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )
    mapped = classify_aws_error(error, service="svc", operation="Op")
    assert mapped.type == expected_type
    assert mapped.non_retryable is not retryable
    assert mapped.message.startswith(f"svc.Op: {code}")


def test_an_error_the_service_model_marks_retryable_is_retried() -> None:
    """DynamoDB models ReplicatedWriteConflictException as retryable; its name alone reads as a conflict."""
    model = boto3.client("dynamodb", region_name="us-east-1").meta.service_model.operation_model("PutItem")
    error = botocore.exceptions.ClientError(
        {
            "Error": {"Code": "ReplicatedWriteConflictException", "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "PutItem",
    )
    mapped = classify_aws_error(error, service="dynamodb", operation="PutItem", operation_model=model)
    assert mapped.type == "AwsServiceError"
    assert not mapped.non_retryable


async def test_a_call_classifies_with_its_operations_model(
    aws_endpoint: str, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through boto3 and a real HTTP answer: the operation's model decides, not the error's name."""
    proxy = AwsFaultProxy(
        upstream=aws_endpoint, faults=[Fault(count=1, status=400, error_type="ReplicatedWriteConflictException")]
    ).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    item = {"probeId": {"S": f"modeled-{uuid.uuid4()}"}}
    try:
        clients = AwsClients()
        with pytest.raises(ApplicationError) as raised:
            await clients.call("dynamodb", "put_item", TableName=resources.doctor_table, Item=item)
        assert raised.value.type == "AwsServiceError"
        assert not raised.value.non_retryable
        await clients.call("dynamodb", "put_item", TableName=resources.doctor_table, Item=item)  # the retry
        stored = await clients.call("dynamodb", "get_item", TableName=resources.doctor_table, Key=item)
    finally:
        proxy.stop()
    assert stored["Item"] == item


def test_throttled_items_make_a_cancelled_transaction_retryable() -> None:
    error = botocore.exceptions.ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError"}],
        },
        "TransactWriteItems",
    )
    mapped = classify_aws_error(error, service="dynamodb", operation="TransactWriteItems")
    assert mapped.type == "AwsThrottled"
    assert not mapped.non_retryable


def test_cancelled_transactions_carry_their_reasons() -> None:
    error = botocore.exceptions.ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
        },
        "TransactWriteItems",
    )
    mapped = classify_aws_error(error, service="dynamodb", operation="TransactWriteItems")
    assert mapped.type == "TransactionCanceled"
    assert mapped.details[0]["cancellation_reasons"] == ["None", "ConditionalCheckFailed"]
