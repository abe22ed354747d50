"""The OpenAPI document is true: schemathesis runs every operation against the served API.

The API runs as deployed (its own lifespan, Temporal client and Postgres pool) under
uvicorn in a thread, on a free port and a task queue no worker polls, so the workflows
the generated requests start stay pending and are terminated when the module ends.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
)
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from temporalio.testing import WorkflowEnvironment

from activities.common.resources import Resources
from tests.conftest import OPERATOR_TOKEN, PARTNER_TOKENS
from worker.api.app import create_app
from worker.devstack.processes import free_port
from worker.settings import Settings, hash_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    positive_data_acceptance,
]
SEMANTIC_REFUSALS = {
    # Valid by the schema, refused for what only the world knows: whether a flight or an
    # object exists, whether the media lies in the caller's locations, whether a snapshot
    # can be read, whether a URL lies under a base URL the settings register for its partner
    # (and answers its metadata without a redirect), whether an uploaded file's bytes are a
    # PDF with pages. Every other check still runs on these.
    "POST /bookings",
    "POST /media-jobs",
    "POST /reconciliations",
    "POST /reconciliation-campaigns",
    "POST /jobs",
    "POST /poller-schedules",
    "POST /shipments/{shipment_id}/documents/{doc_type}",
}
TASK_QUEUE = f"tq-openapi-{uuid.uuid4()}"
MAX_EXAMPLES = 25
"""Generated requests per operation: enough to cross every documented branch, few enough to stay fast."""


def _settings(database_url: str, env: WorkflowEnvironment) -> Settings:
    return Settings.model_validate(
        {
            "database_url": database_url,
            "temporal": {"address": env.client.service_client.config.target_host, "namespace": env.client.namespace},
            "worker": {"task_queue": TASK_QUEUE},
            "b2b": {"intake_enabled": False, "rate_per_second": 1000, "burst": 1000},
            "api": {
                "operator_token_hashes": [hash_token(OPERATOR_TOKEN)],
                "partner_token_hashes": {p: hash_token(t) for p, t in PARTNER_TOKENS.items()},
            },
        }
    )


@pytest.fixture(scope="module")
async def served(
    database_url: str, dev_env: WorkflowEnvironment, emulators: Any, resources: Resources
) -> AsyncIterator[str]:
    """The API under uvicorn in a thread of its own; terminates what the run started."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(_settings(database_url, dev_env)), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        query = f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus = 'Running'"
        async for execution in dev_env.client.list_workflows(query):
            await dev_env.client.get_workflow_handle(execution.id).terminate("schema test over")


# schemathesis's pytest plugin does not run under pytest 9; its strategies are driven here instead.
@pytest.mark.timeout(300)
def test_every_operation_answers_as_documented(served: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            _exercise(operation)
        except (Exception, BaseExceptionGroup) as failure:  # each operation's failures are collected, then reported
            failures[operation.label] = f"{type(failure).__name__}: {failure}"[:2000]
    assert not failures, "\n\n".join(f"{label}\n{why}" for label, why in failures.items())


def _exercise(operation: Any) -> None:
    excluded = [positive_data_acceptance] if operation.label in SEMANTIC_REFUSALS else []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, checks=CHECKS, excluded_checks=excluded, timeout=10
        )

    run()


async def test_every_refusal_is_documented_as_the_error_body(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    assert "HTTPValidationError" not in str(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = {code: body for code, body in responses.items() if not code.startswith("2")}
            if path.startswith("/healthz") or path.startswith("/readyz"):
                continue
            assert {"401", "503"} <= set(errors), (method, path)
            if path.startswith("/partners/"):
                assert "429" in errors and "403" in errors, (method, path)
            for code, body in errors.items():
                ref = body["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (method, path, code)
            assert "Retry-After" in errors["503"]["headers"]


VALID_BODIES = {
    "BookingCreate": (
        "/bookings",
        {"customer_id": "c", "flight_id": "FL-100", "amount": "1.00", "currency": "EUR", "payment_token": "t"},
    ),
    "MediaJobCreate": (
        "/media-jobs",
        {"media_uri": "s3://stepwise-media/a.wav", "language": "en-US", "targets": ["es"]},
    ),
}


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        ("BookingCreate", "amount", ""),
        ("BookingCreate", "amount", "0.00"),
        # Python's Decimal takes these; the documented pattern does not, and neither does the API.
        ("BookingCreate", "amount", "1_000"),
        ("BookingCreate", "amount", "1e2"),
        ("BookingCreate", "amount", "\u0661\u0662\u0660"),  # 120 in Arabic-Indic digits
        ("MediaJobCreate", "media_uri", ""),
    ],
)
async def test_the_schema_refuses_what_the_api_refuses(
    api: httpx.AsyncClient, model: str, field: str, value: str
) -> None:
    document = (await api.get("/openapi.json")).json()
    field_schema = document["components"]["schemas"][model]["properties"][field]
    assert not jsonschema_rs.validator_for(field_schema).is_valid(value)
    route, valid = VALID_BODIES[model]
    refused = await api.post(route, json={**valid, field: value})
    assert refused.status_code == 422
    assert field in {e["field"] for e in refused.json()["errors"]}
