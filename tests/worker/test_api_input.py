"""Control characters (NUL first: PostgreSQL refuses it in text) are a 422 naming the field, everywhere.

Each case sends one NUL through one body field, form field or path parameter and checks
the answer names that field, and that nothing was stored or started.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.b2b.records import transaction_workflow_id
from activities.common.db import SessionMaker
from activities.models.b2b import B2BTransaction
from tests.conftest import PARTNER_TOKENS

ACME = {"Authorization": f"Bearer {PARTNER_TOKENS['acme']}"}


def _booking(**overrides: Any) -> dict[str, Any]:
    body = {
        "request_id": f"nul-{uuid.uuid4().hex[:8]}",
        "customer_id": "cust-1",
        "flight_id": "FL-100",
        "amount": "10.00",
        "currency": "EUR",
        "payment_token": "tok_visa",
    }
    return {**body, **overrides}


def _recon(**overrides: Any) -> dict[str, Any]:
    return {"client_id": f"nul-{uuid.uuid4().hex[:8]}", "baseline": "v1", "candidate": "v2", "run": "r1", **overrides}


def _decision(**overrides: Any) -> dict[str, Any]:
    return {"step": "s", "action": "skip", **overrides}


JSON_CASES = [
    ("POST", "/bookings", _booking(customer_id="a\x00b"), "customer_id"),
    ("POST", "/bookings", _booking(payment_token="tok\x00"), "payment_token"),
    ("POST", "/bookings/x/cancel", {"reason": "a\x00b"}, "reason"),
    (
        "POST",
        "/media-jobs",
        {"media_uri": "s3://stepwise-media/a\x00b.wav", "language": "en-US", "targets": ["es"]},
        "media_uri",
    ),
    ("POST", "/reconciliations", _recon(baseline="v\x001"), "baseline"),
    ("POST", "/reconciliations", _recon(reports=["r\x00"]), "reports.0"),
    ("POST", "/reconciliations", _recon(provider_options={"k": "v\x00"}), "provider_options.k"),
    ("POST", "/workflows/w/decisions", _decision(reason="r\x00"), "reason"),
    ("POST", "/workflows/w/decisions", _decision(substitute_output={"rows": ["a\x00"]}), "substitute_output"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), JSON_CASES)
async def test_a_nul_in_a_json_field_is_422_naming_it(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert "control character U+0000" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/bookings/abc%00def", "booking_id"),
        ("/media-jobs/abc%00def", "job_id"),
        ("/reconciliations/abc%00def", "run_id"),
        ("/partners/acme/transactions/abc%00def", "transaction_id"),
        ("/partners/acme/batches/abc%00def", "batch_id"),
    ],
)
async def test_a_nul_in_a_path_parameter_is_422_naming_it(api: httpx.AsyncClient, path: str, field: str) -> None:
    response = await api.get(path)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_nul_in_a_decision_s_workflow_id_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/workflows/abc%00def/decisions", json=_decision())
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["workflow_id"]


@pytest.mark.parametrize("encoding", ["form", "json"])
@pytest.mark.parametrize(
    ("values", "field"),
    [({"transactionMessage": "abc\x00def"}, "transactionMessage"), ({"transactionId": "t\x00"}, "transactionId")],
)
async def test_a_nul_in_a_b2b_submission_is_422_and_nothing_is_stored(
    api: httpx.AsyncClient,
    sessions: SessionMaker,
    dev_env: WorkflowEnvironment,
    encoding: str,
    values: dict[str, str],
    field: str,
) -> None:
    transaction_id = f"nul-{uuid.uuid4().hex[:8]}"
    data = {"transactionId": transaction_id, "transactionMessage": "between user 1 and user 2.", **values}
    if encoding == "form":
        response = await api.post("/partners/acme/transactions", data=data, headers=ACME)
    else:
        response = await api.post("/partners/acme/transactions", json=data, headers=ACME)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    async with sessions() as session:
        stored = await session.scalar(
            select(B2BTransaction).where(
                B2BTransaction.partner_id == "acme", B2BTransaction.transaction_id == transaction_id
            )
        )
    assert stored is None
    with pytest.raises(RPCError) as missing:
        await dev_env.client.get_workflow_handle(transaction_workflow_id("acme", transaction_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_a_raw_nul_in_a_form_body_is_422(api: httpx.AsyncClient) -> None:
    """The issue's own request: ``transactionMessage=abc%00def`` form-encoded by hand."""
    response = await api.post(
        "/partners/acme/transactions",
        content=b"transactionId=nul-raw-1&transactionMessage=abc%00def",
        headers={**ACME, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "transactionMessage"


async def test_a_job_id_ending_in_a_newline_is_refused_and_starts_nothing(api: httpx.AsyncClient) -> None:
    """A pattern's ``$`` also matches before a final newline: ids are checked whole."""
    body = {"job_id": "x\n", "media_uri": "s3://stepwise-media/demo/realtime-b2b.wav", "language": "en-US"}
    response = await api.post("/media-jobs", json={**body, "targets": ["es"]})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["job_id"]
    assert (await api.get("/media-jobs/x")).status_code == 404


async def test_a_body_over_the_limit_is_refused_before_any_route_reads_it(api: httpx.AsyncClient) -> None:
    """Declared too large, or streamed past the limit without a length: 413, and no booking starts."""
    request_id = f"big-{uuid.uuid4().hex[:8]}"
    huge = _booking(request_id=request_id, customer_id="c" * 200) | {"padding": "x" * 1_100_000}
    declared = await api.post("/bookings", json=huge)
    assert declared.status_code == 413, declared.text
    assert declared.json() == {"detail": "request body larger than 1048576 bytes", "errors": []}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 100_000

    streamed = await api.post("/bookings", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    assert (await api.get(f"/bookings/{request_id}")).status_code == 404


async def test_every_operation_with_a_body_documents_the_413(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    operations = [op for path in document["paths"].values() for op in path.values() if "requestBody" in op]
    assert operations
    assert all("413" in op["responses"] for op in operations)
