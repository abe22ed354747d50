"""A body the API cannot parse is refused like any bad field: 422 naming ``body``.

FastAPI parses a route's body before any dependency runs, and answers a body it cannot parse
(JSON nested past the parser's depth, a multipart body without its boundary) with its own
``400 "There was an error parsing the body"`` and JSON that does not parse with a 422 naming
the character offset. Both become the API's error body naming ``body``, the answer every route
already documents for a refused field. Because the parse came first, nobody has checked the
token yet: a route that needs one answers 401 first, as it would for a body that parses.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from worker.api.auth import bearer, current_caller
from worker.api.errors import ErrorBody, FieldProblem

JSON_INVALID = "json_invalid"
"""The type of FastAPI's validation error for JSON that does not parse."""


async def unparsed_body(request: Request, error: HTTPException) -> JSONResponse:
    """The answer to FastAPI's (or Starlette's form parser's) 400 for a body it could not parse.

    The API itself never answers 400, so every 400 is such a body.
    """
    return await unreadable_body(request)


def is_unparsed_json(error: RequestValidationError) -> bool:
    """Whether a validation error is FastAPI's for a JSON body that does not parse."""
    return any(item["type"] == JSON_INVALID for item in error.errors())


async def unreadable_body(request: Request) -> JSONResponse:
    """401 if the route needs a token and the request has no valid one, else 422 naming ``body``."""
    refusal = await _authentication_refusal(request)
    if refusal is not None:
        return refusal
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    problem = FieldProblem(
        field="body", message=f"cannot be parsed as {media_type}" if media_type else "cannot be parsed"
    )
    body = ErrorBody(detail=f"{problem.field}: {problem.message}", errors=[problem])
    return JSONResponse(body.model_dump(), status_code=422)


async def _authentication_refusal(request: Request) -> JSONResponse | None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _authenticates(route.dependant):
        return None
    try:
        await current_caller(request, await bearer(request))
    except HTTPException as refusal:
        body = ErrorBody(detail=str(refusal.detail))
        return JSONResponse(body.model_dump(), status_code=refusal.status_code, headers=refusal.headers)
    return None


def _authenticates(dependant: Dependant) -> bool:
    """Whether a route (or any dependency of it) takes the bearer token's caller."""
    return dependant.call is current_caller or any(_authenticates(d) for d in dependant.dependencies)
