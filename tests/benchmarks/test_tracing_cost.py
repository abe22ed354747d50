"""What Temporal's tracing interceptor costs a worker per booking saga while nothing traces.

    .venv/bin/pytest tests/benchmarks/test_tracing_cost.py -m benchmark -s -p no:randomly

With tracing off (no ``OTEL_EXPORTER_OTLP_ENDPOINT``, the default), ``stepwise worker``
no longer carries ``TracingInterceptor`` (``worker.telemetry.tracing_interceptors``):
without a tracer provider it only made spans nobody records. This measures what that
saves: two workers in this process on two task queues, one as the worker is built now and
one with the interceptor, serve the same booking load in alternating rounds, and the
figure is this process's CPU per saga on each side (only one side has work at a time).
On the 2-core machine of run 12 (README) the difference was smaller than the noise
between rounds: nothing here asserts a saving, only that both sides did every saga.
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


@pytest.mark.benchmark
@pytest.mark.timeout(900)
async def test_tracing_interceptor_cost_per_saga_with_tracing_off(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pipeline_worker(sessions, partner_http, monkeypatch) as stack:
        assert not stack.client.config()["interceptors"], "the benchmark process must not trace"
        with_interceptor = Client(
            stack.client.service_client, namespace=stack.client.namespace, interceptors=[TracingInterceptor()]
        )
        traced_queue = f"bench-interceptor-{uuid.uuid4()}"
        interceptor_worker = Worker(
            with_interceptor,
            task_queue=traced_queue,
            workflows=[*WORKFLOWS, BenchNoopWorkflow],
            workflow_runner=speedups.workflow_runner(enabled=True),
            activities=[*build_activities(stack.deps), noop],
            max_cached_workflows=1000,
        )
        sides = {"as shipped (no interceptor)": stack.task_queue, "with the interceptor": traced_queue}
        flight = new_flight(stack.resources, seats=(WARM_UP + ROUNDS * COUNT) * len(sides) + 10)
        rounds: dict[str, list[Throughput]] = {side: [] for side in sides}
        async with interceptor_worker:
            for queue in sides.values():
                await measure_driven(stack.client, queue, "booking", WARM_UP, flight=flight)
            for _ in range(ROUNDS):
                for side, queue in sides.items():
                    rounds[side].append(await measure_driven(stack.client, queue, "booking", COUNT, flight=flight))
        seats_left = await seat_capacity(stack.deps.aws, stack.resources.flights_table, flight)
    print()
    shipped, intercepted = rounds.values()
    extra = [b.cpu_ms_each - a.cpu_ms_each for a, b in zip(shipped, intercepted, strict=True)]
    for side, throughputs in rounds.items():
        print(
            f"{side:28s} worker CPU-ms per saga {spread([t.cpu_ms_each for t in throughputs])},"
            f" sagas/s {spread([t.per_second for t in throughputs])}"
        )
    print(
        f"the interceptor's extra worker CPU-ms per saga, pair by pair: {spread(extra)}"
        f" (min / median / max of {ROUNDS} alternating pairs of rounds)"
    )
    assert seats_left == 10, seats_left  # every saga on both sides confirmed
