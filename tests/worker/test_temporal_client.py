"""Every Stepwise client carries Temporal's tracing interceptor, also while the process
records no spans: it forwards a caller's trace context to the worker's activities."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from temporalio.contrib.opentelemetry import TracingInterceptor

from worker.settings import Settings
from worker.temporal import connect


async def test_a_client_that_records_no_spans_still_carries_the_tracing_interceptor(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", trace.NoOpTracerProvider)
    client = await connect(settings, lazy=True)  # lazy: nothing is dialled
    assert [type(i) for i in client.config()["interceptors"]] == [TracingInterceptor]
