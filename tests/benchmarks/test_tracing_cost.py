"""What Temporal's tracing interceptor costs a worker per booking saga while nothing traces.

    .venv/bin/pytest tests/benchmarks/test_tracing_cost.py -m benchmark -s -p no:randomly

``stepwise worker`` always carries ``TracingInterceptor`` (``worker.temporal.connect``).
With tracing off (no ``OTEL_EXPORTER_OTLP_ENDPOINT``, the default) it records no spans,
but it still forwards a caller's trace context (the API's, when the API traces) to every
activity, child workflow and continued run, so the worker's logs carry the trace id. This
measures what keeping it costs: two workers in this process on two task queues, one as
``stepwise worker`` is built and one without the interceptor, serve the same booking load
in alternating rounds (which side goes first alternates too), and the figure is this
process's CPU per saga on each side (only one side has work at a time). Nothing here
asserts a difference, only that both sides confirmed every saga.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from activities.catalog import build_activities
from tests.benchmarks.noop_workflow import BenchNoopWorkflow, noop
from tests.benchmarks.support import Throughput, measure_driven, pipeline_worker, spread
from tests.e2e.booking_support import new_flight
from tests.support.world import seat_capacity
from worker import speedups
from workflows.catalog import WORKFLOWS

COUNT = 150
ROUNDS = 5
WARM_UP = 20
SHIPPED = "as shipped (interceptor)"
BARE = "without the interceptor"


@pytest.mark.benchmark
@pytest.mark.timeout(900)
async def test_tracing_interceptor_cost_per_saga_with_tracing_off(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pipeline_worker(sessions, partner_http, monkeypatch) as stack:
        assert [type(i) for i in stack.client.config()["interceptors"]] == [TracingInterceptor]
        bare_client = Client(stack.client.service_client, namespace=stack.client.namespace)
        bare_queue = f"bench-bare-{uuid.uuid4()}"
        bare_worker = Worker(
            bare_client,
            task_queue=bare_queue,
            workflows=[*WORKFLOWS, BenchNoopWorkflow],
            workflow_runner=speedups.workflow_runner(enabled=True),
            activities=[*build_activities(stack.deps), noop],
            max_cached_workflows=1000,
        )
        queues = {SHIPPED: stack.task_queue, BARE: bare_queue}
        flight = new_flight(stack.resources, seats=(WARM_UP + ROUNDS * COUNT) * len(queues) + 10)
        rounds: dict[str, list[Throughput]] = {side: [] for side in queues}
        async with bare_worker:
            for queue in queues.values():
                await measure_driven(stack.client, queue, "booking", WARM_UP, flight=flight)
            for round_number in range(ROUNDS):
                order = [SHIPPED, BARE] if round_number % 2 == 0 else [BARE, SHIPPED]
                for side in order:
                    rounds[side].append(
                        await measure_driven(stack.client, queues[side], "booking", COUNT, flight=flight)
                    )
        seats_left = await seat_capacity(stack.deps.aws, stack.resources.flights_table, flight)
    print()
    extra = [s.cpu_ms_each - b.cpu_ms_each for s, b in zip(rounds[SHIPPED], rounds[BARE], strict=True)]
    for side, throughputs in rounds.items():
        print(
            f"{side:26s} worker CPU-ms per saga {spread([t.cpu_ms_each for t in throughputs])},"
            f" sagas/s {spread([t.per_second for t in throughputs])}"
        )
    print(
        f"the interceptor's extra worker CPU-ms per saga, round by round: {spread(extra)}"
        f" (min / median / max of {ROUNDS} rounds)"
    )
    assert seats_left == 10, seats_left  # every saga on both sides confirmed
