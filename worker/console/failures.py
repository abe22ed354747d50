"""Console pages for what the API answers as JSON: invalid form or query values, and outages.

The API's exception handlers answer every route with JSON, which a browser shows as raw
text. The console's routes catch the same two failures first and answer with a page in the
console's layout, keeping the status code (422; 503 with ``Retry-After``), so the JSON API
is unchanged. Any other error goes on to the API's handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute

from worker.api.app import OUTAGE_ERROR_TYPES
from worker.api.errors import field_problems
from worker.console.render import current_session, page
from worker.outages import Outage, outage_of
from worker.settings import Settings

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: invalid input and an unreachable dependency answer as console pages."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return invalid_input_page(request, error)
            except OUTAGE_ERROR_TYPES as error:
                outage = outage_of(error, request.app.state.settings)
                if outage is None:
                    raise
                return outage_page(request, outage)

        return handle


def invalid_input_page(request: Request, error: RequestValidationError) -> Response:
    """422: each refused field and why, one line each; nothing was done."""
    problems = [f"{problem.field}: {problem.message}" for problem in field_problems(error.errors())]
    context = {
        "title": "Invalid request",
        "message": "Some values of the form or the address were refused; nothing was done.",
        "problems": problems,
    }
    return page(request, "error.html", context, session=current_session(request), status=422)


def outage_page(request: Request, outage: Outage) -> Response:
    """503 + Retry-After, naming the dependency that cannot be reached (as the API's JSON does)."""
    settings: Settings = request.app.state.settings
    context = {"title": "Unavailable", "message": f"{outage}; retry later."}
    response = page(request, "error.html", context, session=current_session(request), status=503)
    response.headers["Retry-After"] = str(settings.api.unavailable_retry_after_seconds)
    return response
