"""Tracing, logs and the Temporal runtime's metrics, configured once per process.

* Traces: OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or tracing=otlp), the
  console on request, otherwise off. botocore, asyncpg and aiohttp are instrumented
  here; FastAPI in the API; Temporal through its ``TracingInterceptor``.
* Logs: one JSON object a line carrying workflow id, run id, activity and trace id.
* Metrics: the Temporal ``Runtime`` serves Prometheus on the worker's metrics port; the
  SDK's metrics and Stepwise's business metrics (emitted through Temporal's replay-safe
  metric meters) share that endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from temporalio import activity, workflow
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from worker.settings import TelemetrySettings

# Seconds-valued histograms need seconds-sized buckets (the SDK's defaults are for ms).
SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400]
SECONDS_HISTOGRAMS = (
    "stepwise_booking_saga_duration_seconds",
    "stepwise_transcription_wait_seconds",
    "stepwise_step_parked_seconds",
)

_instrumented = False


def build_runtime(metrics_bind: str | None) -> Runtime:
    """A Temporal runtime serving Prometheus metrics on ``host:port`` (None: no endpoint)."""
    metrics = None
    if metrics_bind:
        metrics = PrometheusConfig(
            bind_address=metrics_bind,
            histogram_bucket_overrides={name: SECONDS_BUCKETS for name in SECONDS_HISTOGRAMS},
        )
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


def configure_tracing(
    settings: TelemetrySettings, service_name: str, *, processor: SpanProcessor | None = None
) -> None:
    """Install the tracer provider and the client-library instrumentations (once per process)."""
    global _instrumented
    mode = settings.tracing
    if mode == "auto":
        mode = "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "off"
    if processor is None and mode == "off":
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if processor is not None:
        provider.add_span_processor(processor)
    elif mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif mode == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    if not _instrumented:
        instrument_clients()
        _instrumented = True


def shutdown_telemetry(timeout_seconds: float = 5.0) -> None:
    """Export what the tracer and meter providers still hold, then shut them down.

    The batch span processor exports every few seconds on a thread; a process that exits
    without this loses the spans of its last seconds (for a worker: its last activities).
    """
    tracer_provider = trace.get_tracer_provider()
    if isinstance(tracer_provider, TracerProvider):
        tracer_provider.force_flush(int(timeout_seconds * 1000))
        tracer_provider.shutdown()
    meter_provider = metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        meter_provider.force_flush(int(timeout_seconds * 1000))
        meter_provider.shutdown(int(timeout_seconds * 1000))


def instrument_clients() -> None:
    """Instrument botocore, asyncpg (every SQL statement SQLAlchemy sends) and aiohttp (partners).

    Postgres is traced at the driver: the asyncpg instrumentation patches asyncpg's classes,
    so it sees engines created before it and does not depend on SQLAlchemy's version (the
    SQLAlchemy instrumentation refuses SQLAlchemy 2.1 and only sees engines created after it).
    """
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    BotocoreInstrumentor().instrument()  # type: ignore[no-untyped-call]
    AioHttpClientInstrumentor().instrument()
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]


class JsonFormatter(logging.Formatter):
    """One JSON object per line with Temporal and trace context when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_temporal_context())
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key in ("workflow_id", "run_id", "step", "activity"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _temporal_context() -> dict[str, str]:
    if activity.in_activity():
        info = activity.info()
        return {
            "workflow_id": info.workflow_id or "",
            "run_id": info.workflow_run_id or "",
            "activity": info.activity_type,
            "attempt": str(info.attempt),
        }
    if not workflow.in_workflow():
        return {}
    winfo = workflow.info()
    return {"workflow_id": winfo.workflow_id, "run_id": winfo.run_id, "workflow_type": winfo.workflow_type}


def configure_logging(settings: TelemetrySettings) -> None:
    """Root logger: JSON lines (or plain text) on stderr at the configured level."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "aiohttp", "botocore", "urllib3", "uvicorn.access", "temporalio.activity"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
