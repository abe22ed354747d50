"""The FastAPI application: routers per pipeline, health, metrics, one-line error bodies.

Clients (Temporal, Postgres) are created in the lifespan, once per process, or
injected by tests through :class:`ApiServices`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.client import Client

from activities.db import SessionMaker, create_engine, create_session_maker
from worker.health import dependency_checks
from worker.settings import Settings
from worker.temporal import connect


@dataclass
class ApiServices:
    """What request handlers use: the Temporal client and the Postgres session maker."""

    client: Client
    sessions: SessionMaker
    task_queue: str


def create_app(settings: Settings, services: ApiServices | None = None) -> FastAPI:
    """The API; without ``services`` it connects to Temporal and Postgres at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        engine = create_engine(settings.require_database_url(), pool_size=settings.database_pool_size)
        client = await connect(settings)
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
    _add_health(app)
    from worker.api.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    return app


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 whose body names each bad field and why, in one line per field."""
    problems = []
    for item in error.errors():
        location = [str(part) for part in item["loc"] if part not in ("body", "query", "path")]
        problems.append({"field": ".".join(location) or "body", "message": item["msg"]})
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse({"detail": summary, "errors": problems}, status_code=422)


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        """Temporal and Postgres answer."""
        services: ApiServices = request.app.state.services
        checks = await dependency_checks(services.client, services.sessions)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus metrics of the API process."""
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)
