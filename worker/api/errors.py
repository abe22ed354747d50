"""The API's error bodies, one shape for every 4xx and 5xx answer.

Every refusal is ``{"detail": "<one line>", "errors": [{"field": ..., "message": ...}]}``:
``detail`` says what went wrong in one line, ``errors`` names each bad field (empty when
no single field is at fault, e.g. a missing token or Temporal being unreachable). The
models here are what the OpenAPI document shows for those answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One field that was refused, and why."""

    field: str = Field(description="Dotted name of the field (``body`` when the whole body is at fault).")
    message: str = Field(description="Why the field was refused.")


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """Pydantic's validation errors as the API names them: the dotted field (without ``body``,
    ``query`` or ``path``) and the refusal in the validator's own words (a ValueError's text,
    without pydantic's "Value error, " prefix). The API's 422 and the console's pages both say this."""
    problems = []
    for item in errors:
        location = [str(part) for part in item["loc"] if part not in ("body", "query", "path")]
        raised = item.get("ctx", {}).get("error") if item.get("type") == "value_error" else None
        message = str(raised) if raised is not None else str(item["msg"])
        problems.append(FieldProblem(field=".".join(location) or "body", message=message))
    return problems


class ErrorBody(BaseModel):
    """The body of every error answer."""

    detail: str = Field(description="What went wrong, in one line.")
    errors: list[FieldProblem] = Field(default_factory=list, description="Each refused field, if any.")


_DESCRIPTIONS = {
    401: "No bearer token, or one nobody was given.",
    403: "The caller's role may not do this.",
    404: "No such record, or it is not the caller's.",
    409: "The request conflicts with the record as it is.",
    413: "The request body is larger than the API accepts.",
    415: "The body's media type is not accepted.",
    422: "A field was refused, or the body could not be parsed (``body``); each is named in ``errors``.",
    429: "The partner's request rate is exceeded.",
    503: "Temporal or PostgreSQL is unreachable; retry later.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}

AUTHENTICATED = (401, 422, 503)
"""What any authenticated route that reaches Temporal or Postgres may answer besides success."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of the given error statuses, each with :class:`ErrorBody`."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        documented[status] = response
    return documented
