"""AWS access for activities: one client factory, one error taxonomy, one generic call.

The client factory uses boto3's standard configuration only: region, credentials and
endpoint come from the environment (``AWS_ENDPOINT_URL`` points at an emulator in
development), so nothing here knows which AWS it talks to. The SDK's own retries are
capped at one attempt: Temporal's retry policies are the single retry mechanism, so
attempts show up in workflow history instead of hiding inside an activity.

The taxonomy (DESIGN §4.2) turns every botocore error into an ``ApplicationError``:
throttling, 5xx and connection problems stay retryable; validation, access, not-found
and conditional-check failures become typed, non-retryable errors.
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
from temporalio import activity
from temporalio.exceptions import ApplicationError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "SlowDown",
        "PriorRequestNotComplete",
        "LimitExceededException",
    }
)
SERVER_CODES = frozenset(
    {"InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException"}
)
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
CONNECTION_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionError,
)


def classify_aws_error(error: Exception, *, service: str, operation: str) -> ApplicationError:
    """Map a botocore/boto3 error to a retryable or typed non-retryable ApplicationError.

    The error's ``type`` is the taxonomy class (``AwsThrottled``, ``AwsNotFound``,
    ``ConditionalCheckFailed``...); ``details[0]`` carries the AWS error code and, for
    cancelled DynamoDB transactions, the per-item cancellation reasons.
    """
    where = f"{service}.{operation}"
    if isinstance(error, CONNECTION_ERRORS):
        return ApplicationError(f"{where}: {error}", {"code": type(error).__name__}, type="AwsConnectionError")
    if isinstance(error, botocore.exceptions.ParamValidationError):
        return ApplicationError(
            f"{where}: {error}", {"code": "ParamValidation"}, type="AwsValidationError", non_retryable=True
        )
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return ApplicationError(
            f"{where}: {error}", {"code": "NoCredentials"}, type="AwsAccessDenied", non_retryable=True
        )
    if not isinstance(error, botocore.exceptions.ClientError):
        return ApplicationError(f"{where}: {type(error).__name__}: {error}", type="AwsError")

    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    message = str(info.get("Message", "")) or str(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    details: dict[str, Any] = {"code": code, "status": status}
    text = f"{where}: {code}: {message}"

    if code in THROTTLING_CODES or status == 429:
        return ApplicationError(text, details, type="AwsThrottled")
    if code in SERVER_CODES or status >= 500:
        return ApplicationError(text, details, type="AwsServiceError")
    if code == "ConditionalCheckFailedException":
        return ApplicationError(text, details, type="ConditionalCheckFailed", non_retryable=True)
    if code == "TransactionCanceledException":
        reasons = [str(r.get("Code", "None")) for r in error.response.get("CancellationReasons", [])]
        details["cancellation_reasons"] = reasons
        if any(r in THROTTLING_CODES or r == "TransactionConflict" for r in reasons):
            return ApplicationError(text, details, type="AwsThrottled")
        return ApplicationError(text, details, type="TransactionCanceled", non_retryable=True)
    if code in NOT_FOUND_CODES or status == 404:
        return ApplicationError(text, details, type="AwsNotFound", non_retryable=True)
    if code in ACCESS_CODES or status == 403:
        return ApplicationError(text, details, type="AwsAccessDenied", non_retryable=True)
    if "Conflict" in code or "AlreadyExists" in code or status == 409:
        return ApplicationError(text, details, type="AwsConflict", non_retryable=True)
    return ApplicationError(text, details, type="AwsValidationError", non_retryable=True)


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
                f"unknown AWS service {service!r}", type="AwsValidationError", non_retryable=True
            ) from None
        method_name = xform_name(operation)
        if method_name not in self._operations[service]:
            raise ApplicationError(
                f"{service} has no operation {operation!r}", type="AwsValidationError", non_retryable=True
            )
        try:
            result: dict[str, Any] = await asyncio.to_thread(getattr(client, method_name), **params)
        except Exception as error:
            raise classify_aws_error(error, service=service, operation=operation) from error
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


@dataclass(frozen=True)
class AwsCallInput:
    """One AWS SDK call, the way a Step Functions SDK integration task names it."""

    service: str
    """boto3 service name, e.g. ``dynamodb``."""
    operation: str
    """Operation, ``PutItem`` or ``put_item``."""
    params: dict[str, Any] = field(default_factory=dict)
    """The operation's request parameters."""


@dataclass(frozen=True)
class AwsCallOutput:
    """The operation's response, without ``ResponseMetadata``, made JSON-safe."""

    result: dict[str, Any]


class AwsActivities:
    """The generic ``call_aws`` activity: any boto3 operation under the taxonomy."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws

    @activity.defn(name="call_aws")
    async def call_aws(self, request: AwsCallInput) -> AwsCallOutput:
        """Stepwise's counterpart of Step Functions' AWS SDK service integrations."""
        response = await self._aws.call(request.service, request.operation, **request.params)
        return AwsCallOutput(result=to_json_safe(response))
