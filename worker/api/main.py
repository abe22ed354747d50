"""`stepwise api`: serve the API with uvicorn, traced, with request metrics."""

from __future__ import annotations

import uvicorn
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from worker.api.app import create_app
from worker.settings import Settings
from worker.telemetry import configure_logging, configure_tracing


def run_api(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn drains in-flight requests)."""
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry, "stepwise-api")
    app = create_app(settings)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_config=None, access_log=False)
