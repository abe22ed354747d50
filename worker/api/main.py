"""`stepwise api`: serve the API with uvicorn, traced, with its metrics on a port of their own.

Prometheus metrics of the API process are served on ``STEPWISE_API__METRICS_PORT``
(default 9465), never on the API port: clients and the ingress reach the API port, only
the scraper reaches the metrics port (in Kubernetes a NetworkPolicy admits just the
monitoring namespace to it), as with the worker's metrics.
"""

from __future__ import annotations

import logging

import uvicorn
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import start_http_server

from worker.api.app import create_app
from worker.settings import Settings
from worker.telemetry import configure_logging, configure_tracing

log = logging.getLogger("stepwise.api")


def serve_metrics(settings: Settings) -> int:
    """Serve the default Prometheus registry on the metrics port in a daemon thread; the bound port."""
    server, _thread = start_http_server(settings.api.metrics_port, addr=settings.api.host)
    port: int = server.server_address[1]
    log.info("API metrics on %s:%s/metrics", settings.api.host, port)
    return port


def run_api(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn drains in-flight requests)."""
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry, "stepwise-api")
    serve_metrics(settings)
    app = create_app(settings)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_config=None, access_log=False)
