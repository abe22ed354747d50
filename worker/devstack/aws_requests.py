"""What an AWS request to the emulator is: its service, its action, and whether it writes.

The emulator's persistence journals only the requests that change state, and answers
SQS long polls itself; both need to know a request's service and action before moto
sees it. boto3 names the service in the SigV4 credential scope and the action in the
``X-Amz-Target`` header (JSON protocols), in the ``Action`` form field (query
protocols), or in the HTTP method (S3's REST protocol).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

READ_PREFIXES = ("Get", "List", "Describe", "Head", "Query", "Scan", "BatchGet", "TransactGet")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Publishing changes nothing in SNS itself; its deliveries live in SQS's own snapshot,
# and replaying it would deliver to HTTP subscribers again.
UNJOURNALED_ACTIONS = frozenset({("sns", "Publish"), ("sns", "PublishBatch")})
# What moto reads from a request besides its body; hop-by-hop headers would only confuse a replay.
_DROPPED_KEYS = frozenset({"HTTP_EXPECT", "HTTP_CONNECTION", "CONTENT_LENGTH", "REMOTE_ADDR", "REMOTE_PORT"})
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")


@dataclass(frozen=True)
class AwsRequest:
    """One request as the emulator's persistence sees it."""

    service: str
    """The SigV4 service name (``s3``, ``dynamodb``, ``sqs``…), or empty if unsigned."""
    action: str
    """The API action (``PutItem``), or the HTTP method for REST requests."""
    method: str

    @property
    def is_read(self) -> bool:
        """True if it cannot change any state."""
        if self.action == self.method:
            return self.method in READ_METHODS
        return self.action.startswith(READ_PREFIXES)

    @property
    def is_sqs(self) -> bool:
        """SQS's state is kept by snapshot, never by journal."""
        return self.service == "sqs"

    @property
    def is_journaled(self) -> bool:
        """True for the writes a restart must replay."""
        return not self.is_read and not self.is_sqs and (self.service, self.action) not in UNJOURNALED_ACTIONS


def classify(environ: dict[str, Any], body: bytes) -> AwsRequest:
    """Read the service and action of a WSGI request."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    scope = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = scope.group(1) if scope else _presigned_service(str(environ.get("QUERY_STRING", "")))
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return AwsRequest(service, target.rpartition(".")[2], method)
    action = _form_action(environ, body)
    return AwsRequest(service, action or method, method)


def _presigned_service(query: str) -> str:
    credential = urllib.parse.parse_qs(query).get("X-Amz-Credential", [""])[0]
    parts = credential.split("/")
    return parts[3] if len(parts) > 3 else ""


def _form_action(environ: dict[str, Any], body: bytes) -> str:
    fields = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        fields.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    return fields.get("Action", [""])[0]


def journal_environ(environ: dict[str, Any]) -> dict[str, str]:
    """The parts of a WSGI environ a replay needs: the CGI variables and the headers."""
    return {
        key: value
        for key, value in environ.items()
        if isinstance(value, str) and "." not in key and key not in _DROPPED_KEYS
    }


def long_poll_seconds(request: AwsRequest, environ: dict[str, Any], body: bytes) -> int:
    """``WaitTimeSeconds`` of an SQS ``ReceiveMessage`` (0 for anything else)."""
    if not request.is_sqs or request.action != "ReceiveMessage":
        return 0
    if environ.get("HTTP_X_AMZ_TARGET"):
        return int(json.loads(body or b"{}").get("WaitTimeSeconds") or 0)
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return int(fields.get("WaitTimeSeconds", ["0"])[0] or 0)


def short_poll_body(environ: dict[str, Any], body: bytes) -> bytes:
    """The same ``ReceiveMessage`` with ``WaitTimeSeconds=0``: moto answers it at once."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return json.dumps({**json.loads(body), "WaitTimeSeconds": 0}).encode()
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    fields["WaitTimeSeconds"] = ["0"]
    return urllib.parse.urlencode(fields, doseq=True).encode()
