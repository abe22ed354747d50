"""The API's OpenAPI document, made to describe what the API really answers.

Every refusal the API sends is an :class:`~worker.api.errors.ErrorBody`, so an
``HTTPException`` is answered in that shape too, and FastAPI's own validation-error
models (``HTTPValidationError``), which no answer ever has, are taken out of the
document. Each route declares its error statuses with ``error_responses``; a test runs
schemathesis against the served API so the document stays true.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from worker.api.errors import ErrorBody, error_responses

_FASTAPI_VALIDATION_MODELS = ("HTTPValidationError", "ValidationError")
_ERROR_BODY_REF = "#/components/schemas/ErrorBody"


def describe_errors(app: FastAPI) -> None:
    """Answer HTTP exceptions as ``ErrorBody`` and publish a document without FastAPI's 422 models."""
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_body_limit(_without_fastapi_validation_models(document))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    body = ErrorBody(detail=str(error.detail))
    return JSONResponse(body.model_dump(), status_code=error.status_code, headers=error.headers)


def _with_body_limit(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation that takes a body may answer 413 (``worker.api.body_limit``)."""
    too_large = error_responses(413)[413]
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {})["413"] = {
                    "description": too_large["description"],
                    "content": {"application/json": {"schema": {"$ref": _ERROR_BODY_REF}}},
                }
    return document


def _without_fastapi_validation_models(document: dict[str, Any]) -> dict[str, Any]:
    """Point every reference to FastAPI's validation models at ``ErrorBody`` and drop those models."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_MODELS:
        schemas.pop(name, None)
    refs = {f"#/components/schemas/{name}" for name in _FASTAPI_VALIDATION_MODELS}
    pending: list[Any] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get("$ref") in refs:
                node["$ref"] = _ERROR_BODY_REF
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return document
