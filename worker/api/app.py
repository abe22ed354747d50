"""The FastAPI application: routers per pipeline, health, one-line error bodies.

Clients (Temporal, Postgres) are created in the lifespan, once per process, or
injected by tests through :class:`ApiServices`. Temporal's client is lazy and fails
fast, so the API starts and answers while Temporal is down: every route then answers
503 with ``Retry-After`` and a body naming the unreachable dependency (Temporal or
PostgreSQL) within a second. Prometheus metrics are served on their own port
(``worker.api.main``), not here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client
from temporalio.service import RPCError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, create_engine, create_session_maker
from worker.api.body_limit import BodyLimit
from worker.api.errors import ErrorBody, error_responses, field_problems
from worker.api.openapi import describe_errors
from worker.api.ratelimit import rate_limited
from worker.api.unreadable_body import is_unparsed_json, unparsed_body, unreadable_body
from worker.health import dependency_checks
from worker.outages import ASYNCPG_CONNECTION_ERRORS, outage_of
from worker.settings import Settings
from worker.temporal import FAIL_FAST, connect


@dataclass
class ApiServices:
    """What request handlers use: the Temporal client and the Postgres session maker."""

    client: Client
    sessions: SessionMaker
    task_queue: str


def api_aws(request: Request) -> AwsClients:
    """One set of boto3 clients per app, created on first use (never at import)."""
    if not hasattr(request.app.state, "aws"):
        request.app.state.aws = AwsClients()
    aws: AwsClients = request.app.state.aws
    return aws


def create_app(settings: Settings, services: ApiServices | None = None) -> FastAPI:
    """The API; without ``services`` it connects to Temporal and Postgres at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        engine = create_engine(settings.require_database_url(), pool_size=settings.database_pool_size)
        client = await connect(settings, retry=FAIL_FAST, lazy=True)
        app.state.services = ApiServices(client, create_session_maker(engine), settings.worker.task_queue)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Stepwise",
        version="0.1.0",
        description="Durable pipelines on Temporal: start them, watch them, rescue their steps.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if services is not None:
        app.state.services = services
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    describe_errors(app)
    app.add_exception_handler(400, unparsed_body)  # type: ignore[arg-type]
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.api.max_body_bytes,
        # A translation project's files come in one multipart request, up to the upload limit.
        per_path={
            r"/translation-projects/[^/]+/files": settings.translation.max_upload_bytes + 64 * 1024,
            # A shipment document: one PDF in a multipart request.
            r"/shipments/[^/]+/documents/[^/]+": settings.documents.max_document_bytes + 64 * 1024,
        },
    )
    for error_type in OUTAGE_ERROR_TYPES:
        app.add_exception_handler(error_type, _dependency_unreachable)
    _add_health(app)
    from worker.api.routes import ROUTERS

    for router in ROUTERS:
        # A partner has one bucket whichever route it calls, reads included; a route that also
        # names RateLimitedCaller takes no second token (FastAPI solves a dependency once per request).
        app.include_router(router, dependencies=[Depends(rate_limited)], responses=error_responses(429))
    _add_console(app)
    return app


def _add_console(app: FastAPI) -> None:
    """The operator console's pages and stylesheet (``worker.console``)."""
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    from worker.console.render import SignInRequired, to_sign_in
    from worker.console.routes import router

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parents[1] / "console" / "static"), "static")

    async def sign_in_first(request: Request, error: Exception) -> Response:
        return to_sign_in(request)

    app.add_exception_handler(SignInRequired, sign_in_first)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 whose body names each bad field and why, in one line per field."""
    if is_unparsed_json(error):
        return await unreadable_body(request)
    problems = field_problems(error.errors())
    body = ErrorBody(detail="; ".join(f"{p.field}: {p.message}" for p in problems), errors=problems)
    return JSONResponse(body.model_dump(), status_code=422)


OUTAGE_ERROR_TYPES: tuple[type[Exception], ...] = (
    RPCError,
    RuntimeError,
    OSError,
    DBAPIError,
    *ASYNCPG_CONNECTION_ERRORS,
)
"""Types an unreachable dependency raises through a route; :func:`worker.outages.outage_of`
decides whether one really is an outage."""


async def _dependency_unreachable(request: Request, error: Exception) -> JSONResponse:
    """503 + Retry-After naming the unreachable dependency; any other error stays a 500."""
    settings: Settings = request.app.state.settings
    outage = outage_of(error, settings)
    if outage is None:
        raise error
    retry_after = str(settings.api.unavailable_retry_after_seconds)
    body = ErrorBody(detail=f"{outage}; retry later")
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": retry_after})


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "Not ready; ``checks`` says which."}})
    async def readyz(request: Request) -> JSONResponse:
        """Temporal and Postgres answer."""
        services: ApiServices = request.app.state.services
        checks = await dependency_checks(services.client, services.sessions)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
