"""The AWS error taxonomy against the emulator: what is retried and what fails typed."""

from __future__ import annotations

import uuid

import botocore.exceptions
import pytest
from temporalio.exceptions import ApplicationError

from activities.aws import AwsClients, classify_aws_error
from activities.resources import Resources


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
