"""A body the API cannot parse is 422 naming ``body`` in the API's error body; without a token, 401 first.

FastAPI parses a body before any dependency runs; its own answer was ``400 "There was an error
parsing the body"`` with no field named, to callers with a token and without one alike.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PARTNER_TOKENS

ACME = {"Authorization": f"Bearer {PARTNER_TOKENS['acme']}"}
NO_TOKEN = {"Authorization": ""}
BAD_TOKEN = {"Authorization": "Bearer not-a-token"}
JSON = {"content-type": "application/json"}
MULTIPART_WITHOUT_BOUNDARY = {"content-type": "multipart/form-data"}

DEEP_JSON = '{"step": "s", "action": "skip", "substitute_output": %s}' % ("[" * 100_000 + "]" * 100_000)
"""Nested past the JSON parser's depth: it cannot be read at all."""
CUT_JSON = '{"step": "s", "action": '
"""JSON that stops halfway."""

UNREADABLE = [
    pytest.param("/workflows/w/decisions", DEEP_JSON, JSON, {}, id="nested-json"),
    pytest.param("/workflows/w/decisions", CUT_JSON, JSON, {}, id="cut-json"),
    pytest.param("/partners/acme/transactions", "transactionId=1", MULTIPART_WITHOUT_BOUNDARY, ACME, id="b2b-form"),
    pytest.param("/translation-projects/acme-p1/files", "x", MULTIPART_WITHOUT_BOUNDARY, {}, id="file-upload"),
]


def _names_the_body(response: httpx.Response, media_type: str) -> None:
    assert response.status_code == 422, response.text
    message = f"cannot be parsed as {media_type}"
    assert response.json() == {"detail": f"body: {message}", "errors": [{"field": "body", "message": message}]}


@pytest.mark.parametrize(("path", "body", "headers", "caller"), UNREADABLE)
async def test_an_unreadable_body_is_422_naming_the_body(
    api: httpx.AsyncClient, path: str, body: str, headers: dict[str, str], caller: dict[str, str]
) -> None:
    response = await api.post(path, content=body, headers={**headers, **caller})
    _names_the_body(response, headers["content-type"])


@pytest.mark.parametrize("token", [NO_TOKEN, BAD_TOKEN], ids=["no-token", "unknown-token"])
@pytest.mark.parametrize(("path", "body", "headers", "caller"), UNREADABLE)
async def test_an_unreadable_body_without_a_valid_token_is_401(
    api: httpx.AsyncClient, path: str, body: str, headers: dict[str, str], caller: dict[str, str], token: Any
) -> None:
    response = await api.post(path, content=body, headers={**headers, **token})
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["errors"] == []


async def test_a_body_that_parses_still_names_its_bad_fields(api: httpx.AsyncClient) -> None:
    response = await api.post("/workflows/w/decisions", json={"step": "s", "action": "jump"})
    assert response.status_code == 422
    assert [problem["field"] for problem in response.json()["errors"]] == ["action"]


async def test_every_operation_with_a_body_documents_the_422_as_the_error_body(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    with_a_body = [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert with_a_body
    for method, path, operation in with_a_body:
        refused = operation["responses"].get("422")
        assert refused is not None, f"{method} {path}"
        assert refused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
