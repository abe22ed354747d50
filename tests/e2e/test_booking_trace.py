"""One API request that starts a booking is one trace, from the HTTP request into every call.

The API (``create_app`` with FastAPI's instrumentation) and the worker (``run_worker``) are
wired as in production: the client carries Temporal's ``TracingInterceptor`` (the worker
inherits it from its client), and botocore, SQLAlchemy and httpx are instrumented by
``worker.telemetry.configure_tracing``. Spans go to an in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.common.db import create_engine, create_session_maker
from tests.e2e.booking_support import new_flight
from tests.support.runner import TEST_RUNNER
from tests.support.running_worker import running_worker
from worker.api.app import ApiServices, create_app
from worker.services.booking import workflow_id
from worker.settings import Settings, TelemetrySettings, hash_token
from worker.telemetry import configure_tracing
from worker.temporal import connect
from workflows.booking.workflow import BookingWorkflow
from workflows.catalog import WORKFLOWS

OPERATOR_TOKEN = "trace-operator"
FORWARD_STEPS = ("reserve_seats", "reserve_booking", "collect_payment", "confirm_booking", "notify_customer")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span finished during the test, with the client libraries instrumented."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):  # installed by an earlier test: the global one is set once
        provider.add_span_processor(processor)
    else:
        configure_tracing(TelemetrySettings(tracing="off"), "stepwise", processor=processor)
    yield exporter
    exporter.shutdown()  # later tests' spans are dropped, not kept in memory


def _named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    matches = [s for s in spans if s.name == name]
    assert len(matches) == 1, f"{name}: {[s.name for s in spans]}"
    return matches[0]


async def test_one_booking_request_is_one_trace_from_the_api_through_the_workflow_to_each_call(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Any,
    emulators: Any,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flight = new_flight(resources, seats=5)
    api_settings = settings.model_copy(
        update={"api": settings.api.model_copy(update={"operator_token_hashes": [hash_token(OPERATOR_TOKEN)]})}
    )
    async with running_worker(dev_env, settings, monkeypatch):
        client = await connect(settings)  # TEMPORAL_ADDRESS set by running_worker; TracingInterceptor on
        engine = create_engine(settings.require_database_url(), pool_size=2)
        app = create_app(api_settings, ApiServices(client, create_session_maker(engine), settings.worker.task_queue))
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://stepwise.test",
                headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
            ) as http:
                response = await http.post(
                    "/bookings",
                    json={
                        "customer_id": "cust-trace",
                        "flight_id": flight,
                        "amount": "99.00",
                        "currency": "EUR",
                        "payment_token": "tok_visa",
                    },
                )
            assert response.status_code == 202, response.text
            booking_id = response.json()["booking_id"]
            handle = dev_env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(booking_id))
            assert (await handle.result()).status == "CONFIRMED"
            history = await handle.fetch_history()
        finally:
            await engine.dispose()
            FastAPIInstrumentor.uninstrument_app(app)

    finished = list(spans.get_finished_spans())
    api_span = next(s for s in finished if s.kind == SpanKind.SERVER and s.name.startswith("POST /bookings"))
    trace_id = api_span.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    start = _named(in_trace, "StartWorkflow:BookingWorkflow")
    run = _named(in_trace, "RunWorkflow:BookingWorkflow")
    assert start.parent is not None and start.parent.span_id in {s.context.span_id for s in in_trace}
    assert run.parent is not None and run.parent.span_id == start.context.span_id
    for step in FORWARD_STEPS:
        _named(in_trace, f"RunActivity:{step}")
    # Nothing of this booking's execution ended up in another trace.
    temporal_elsewhere = [
        s.name
        for s in finished
        if s.context.trace_id != trace_id and s.name.split(":")[0] in ("StartWorkflow", "RunWorkflow", "RunActivity")
    ]
    assert temporal_elsewhere == []

    clients = [s for s in in_trace if s.kind == SpanKind.CLIENT]
    dynamodb = [s for s in clients if (s.attributes or {}).get("rpc.service") == "DynamoDB"]
    sql = [s for s in clients if (s.attributes or {}).get("db.system") == "postgresql"]
    http_calls = [s for s in clients if _http_url(s).startswith(emulators.state.url)]
    assert dynamodb, [s.name for s in clients]
    assert sql, [s.name for s in clients]
    assert http_calls, [s.name for s in clients]
    assert any("/charges" in _http_url(s) for s in http_calls)

    # The trace context rode in the payment activity's headers, and a replay without the
    # interceptor (as the replay tests run) replays the booking all the same.
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert [(a.activity_type.name, set(a.header.fields)) for a in scheduled] == [("collect_payment", {"_tracer-data"})]
    await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(history)


def _http_url(span: ReadableSpan) -> str:
    """The URL of an HTTP client span, under either semantic-convention name."""
    attributes = span.attributes or {}
    return str(attributes.get("url.full") or attributes.get("http.url") or "")
