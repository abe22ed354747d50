"""Clients (and the workers built from them) carry Temporal's tracing interceptor only while
the process traces: with tracing off it would make spans nobody records on every step."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from temporalio.contrib.opentelemetry import TracingInterceptor

from worker.settings import Settings
from worker.telemetry import tracing_interceptors
from worker.temporal import connect


def test_no_interceptor_without_an_sdk_tracer_provider() -> None:
    assert tracing_interceptors(trace.NoOpTracerProvider()) == []
    assert tracing_interceptors(trace.ProxyTracerProvider()) == []


def test_the_interceptor_once_the_process_traces() -> None:
    interceptors = tracing_interceptors(TracerProvider())
    assert len(interceptors) == 1
    assert isinstance(interceptors[0], TracingInterceptor)


@pytest.mark.parametrize("traces", [False, True], ids=["tracing off", "tracing on"])
async def test_connect_follows_the_process_tracer_provider(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, traces: bool
) -> None:
    provider = TracerProvider() if traces else trace.NoOpTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    client = await connect(settings, lazy=True)  # lazy: nothing is dialled
    interceptors = client.config()["interceptors"]
    assert [type(i) for i in interceptors] == ([TracingInterceptor] if traces else [])
