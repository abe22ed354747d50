"""AWS access for activities: one client factory, one error taxonomy, one generic call.

The client factory uses boto3's standard configuration only: region, credentials and
endpoint come from the environment (``AWS_ENDPOINT_URL`` points at an emulator in
development), so nothing here knows which AWS it talks to. The SDK's own retries are
capped at one attempt: Temporal's retry policies are the single retry mechanism, so
attempts show up in workflow history instead of hiding inside an activity.

The taxonomy (DESIGN §4.2) turns every botocore error into an ``ApplicationError``: what
botocore's standard retry mode would retry (throttling, transient codes and statuses,
connection errors, errors the service model marks retryable) stays retryable; validation,
access, not-found and conditional-check failures become typed, non-retryable errors.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
from botocore import xform_name
from botocore.model import OperationModel
from botocore.retries import standard as retry_checks
from botocore.retries.standard import RetryContext
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.contracts import (
    AWS_ACCESS_DENIED,
    AWS_CONFLICT,
    AWS_CONNECTION_ERROR,
    AWS_ERROR,
    AWS_NOT_FOUND,
    AWS_SERVICE_ERROR,
    AWS_THROTTLED,
    AWS_VALIDATION_ERROR,
    CALL_AWS,
    CONDITIONAL_CHECK_FAILED,
    TRANSACTION_CANCELED,
    AwsCallInput,
    AwsCallOutput,
)

RETRYABLE_CANCELLATION_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
"""DynamoDB's per-item cancellation reasons that a retry of the same transaction can get past."""
NOT_FOUND_CODES = frozenset(
    {
        "NoSuchKey",
        "NoSuchBucket",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NoSuchEntity",
        "ParameterNotFound",
        "404",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthorizationError",
        "ExpiredToken",
        "ExpiredTokenException",
        "403",
    }
)


def classify_aws_error(
    error: Exception, *, service: str, operation: str, operation_model: OperationModel | None = None
) -> ApplicationError:
    """Map a botocore/boto3 error to a retryable or typed non-retryable ApplicationError.

    Whether an error is worth retrying is botocore's own judgement (its standard retry
    mode's checkers: transient codes and statuses, throttling codes, a 429 the model does
    not know, errors the service model marks retryable), so Stepwise retries exactly what
    the SDKs retry. What remains is typed for the workflow: ``ConditionalCheckFailed``,
    ``TransactionCanceled``, ``AwsNotFound``, ``AwsAccessDenied``, ``AwsConflict`` and,
    for every other refusal, ``AwsValidationError``, all non-retryable.

    ``details[0]`` carries the AWS error code and HTTP status and, for cancelled DynamoDB
    transactions, the per-item cancellation reasons.
    """
    where = f"{service}.{operation}"
    if isinstance(error, botocore.exceptions.ParamValidationError):
        return ApplicationError(
            f"{where}: {error}", {"code": "ParamValidation"}, type=AWS_VALIDATION_ERROR, non_retryable=True
        )
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return ApplicationError(
            f"{where}: {error}", {"code": "NoCredentials"}, type=AWS_ACCESS_DENIED, non_retryable=True
        )
    if _TRANSIENT.is_retryable(RetryContext(1, caught_exception=error)):
        return ApplicationError(f"{where}: {error}", {"code": type(error).__name__}, type=AWS_CONNECTION_ERROR)
    if not isinstance(error, botocore.exceptions.ClientError):
        return ApplicationError(f"{where}: {type(error).__name__}: {error}", type=AWS_ERROR)

    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    message = str(info.get("Message", "")) or str(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    details: dict[str, Any] = {"code": code, "status": status}
    text = f"{where}: {code}: {message}"
    context = RetryContext(
        1, operation_model=operation_model, parsed_response=error.response, http_response=_Status(status)
    )

    if _THROTTLING.is_throttling_error_from_context(context):
        return ApplicationError(text, details, type=AWS_THROTTLED)
    if _TRANSIENT.is_retryable(context) or _MODELED.is_retryable(context):
        return ApplicationError(text, details, type=AWS_SERVICE_ERROR)
    if code == "ConditionalCheckFailedException":
        return ApplicationError(text, details, type=CONDITIONAL_CHECK_FAILED, non_retryable=True)
    if code == "TransactionCanceledException":
        return _cancelled_transaction(error, text, details)
    if code in NOT_FOUND_CODES or status == 404:
        return ApplicationError(text, details, type=AWS_NOT_FOUND, non_retryable=True)
    if code in ACCESS_CODES or status == 403:
        return ApplicationError(text, details, type=AWS_ACCESS_DENIED, non_retryable=True)
    if "Conflict" in code or "AlreadyExists" in code or status == 409:
        return ApplicationError(text, details, type=AWS_CONFLICT, non_retryable=True)
    return ApplicationError(text, details, type=AWS_VALIDATION_ERROR, non_retryable=True)


def _cancelled_transaction(
    error: botocore.exceptions.ClientError, text: str, details: dict[str, Any]
) -> ApplicationError:
    """A cancelled DynamoDB transaction: retryable when an item was throttled or in conflict."""
    reasons = [str(r.get("Code", "None")) for r in error.response.get("CancellationReasons", [])]
    details["cancellation_reasons"] = reasons
    if any(reason in RETRYABLE_CANCELLATION_REASONS for reason in reasons):
        return ApplicationError(text, details, type=AWS_THROTTLED)
    return ApplicationError(text, details, type=TRANSACTION_CANCELED, non_retryable=True)


@dataclass(frozen=True)
class _Status:
    """The part of an HTTP response botocore's status-code checkers read."""

    status_code: int


_TRANSIENT = retry_checks.TransientRetryableChecker()
_MODELED = retry_checks.ModeledRetryableChecker()
_THROTTLING = retry_checks.ThrottlingErrorDetector(retry_checks.RetryEventAdapter())


def aws_error_code(error: ApplicationError) -> str:
    """The AWS error code an ApplicationError from :func:`classify_aws_error` carries."""
    if error.details and isinstance(error.details[0], Mapping):
        return str(error.details[0].get("code", ""))
    return ""


@dataclass
class AwsClients:
    """boto3 clients, created once per service and shared by every activity.

    boto3 clients are thread-safe; the session is not, so creation is locked.
    """

    session: boto3.session.Session = field(default_factory=boto3.session.Session)
    config: botocore.config.Config = field(
        default_factory=lambda: botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=50,
        )
    )
    _clients: dict[str, Any] = field(default_factory=dict, init=False)
    _operations: dict[str, frozenset[str]] = field(default_factory=dict, init=False)
    _queue_urls: dict[str, str] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def client(self, service: str) -> Any:
        """The shared client of one AWS service (``s3``, ``dynamodb``...)."""
        existing = self._clients.get(service)
        if existing is not None:  # the common case: no lock on every call
            return existing
        with self._lock:
            if service not in self._clients:
                client = self.session.client(service, config=self.config)  # type: ignore[call-overload]
                self._operations[service] = frozenset(xform_name(o) for o in client.meta.service_model.operation_names)
                self._clients[service] = client
            return self._clients[service]

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation`` (snake_case or AWS's PascalCase) on a thread, errors mapped."""
        try:
            client = self.client(service)
        except botocore.exceptions.UnknownServiceError:
            raise ApplicationError(
                f"unknown AWS service {service!r}", type=AWS_VALIDATION_ERROR, non_retryable=True
            ) from None
        method_name = xform_name(operation)
        if method_name not in self._operations[service]:
            raise ApplicationError(
                f"{service} has no operation {operation!r}", type=AWS_VALIDATION_ERROR, non_retryable=True
            )
        try:
            result: dict[str, Any] = await asyncio.to_thread(getattr(client, method_name), **params)
        except Exception as error:
            model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[method_name])
            raise classify_aws_error(error, service=service, operation=operation, operation_model=model) from error
        return result

    async def queue_url(self, queue: str) -> str:
        """The URL of an SQS queue by name, looked up once (queue URLs do not change)."""
        if queue not in self._queue_urls:
            self._queue_urls[queue] = str((await self.call("sqs", "get_queue_url", QueueName=queue))["QueueUrl"])
        return self._queue_urls[queue]

    async def read_object(self, bucket: str, key: str) -> bytes:
        """The whole body of an S3 object, read on a thread (bodies block too)."""

        def get_and_read() -> bytes:
            body: bytes = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            return body

        try:
            return await asyncio.to_thread(get_and_read)
        except Exception as error:
            raise classify_aws_error(error, service="s3", operation="GetObject") from error


def to_json_safe(value: Any) -> Any:
    """Make a boto3 response serialisable: datetimes to ISO 8601, bytes to base64, bodies read."""
    if isinstance(value, Mapping):
        return {str(k): to_json_safe(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple | set):
        return [to_json_safe(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "read"):
        return to_json_safe(value.read())
    return value


class AwsActivities:
    """The generic ``call_aws`` activity: any boto3 operation under the taxonomy."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws

    @activity.defn(name=CALL_AWS.name)
    async def call_aws(self, request: AwsCallInput) -> AwsCallOutput:
        """Stepwise's counterpart of Step Functions' AWS SDK service integrations."""
        response = await self._aws.call(request.service, request.operation, **request.params)
        return AwsCallOutput(result=to_json_safe(response))
