"""Saga throughput against a one-no-op-activity baseline, on the same file-backed dev server.

    make bench      (or: .venv/bin/pytest tests/benchmarks -m benchmark -s)

The worker runs in this process with the real activities; the AWS emulator, the payment
provider emulator and the load (``load_driver``, which starts the workflows and waits for
their results) run in processes of their own, so the CPU-ms figures are the worker's
alone. The figure that matters is the ratio, measured in one run so machine noise cancels:
baseline and saga alternate over a few rounds and each side's median round counts, so a
burst of background work lands on one round rather than on one side.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.benchmarks.support import (
    Throughput,
    measure_driven,
    median_round,
    pipeline_worker,
    spread,
)
from tests.e2e.booking_support import new_flight
from tests.support.world import seat_capacity

COUNT = 150
ROUNDS = 5
WARM_UP = 20


@pytest.mark.benchmark
@pytest.mark.timeout(900)
async def test_saga_throughput_against_the_noop_baseline(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pipeline_worker(sessions, partner_http, monkeypatch) as stack:  # as `stepwise worker` runs
        # Warm both up first: the first saga creates the AWS clients, the payment
        # provider's connection pool and the database connections.
        flight = new_flight(stack.resources, seats=WARM_UP + ROUNDS * COUNT + 10)
        await measure_driven(stack.client, stack.task_queue, "noop", WARM_UP)
        await measure_driven(stack.client, stack.task_queue, "booking", WARM_UP, flight=flight)
        baselines, sagas = [], []
        for _ in range(ROUNDS):
            baselines.append(await measure_driven(stack.client, stack.task_queue, "noop", COUNT))
            sagas.append(await measure_driven(stack.client, stack.task_queue, "booking", COUNT, flight=flight))
        seats_left = await seat_capacity(stack.deps.aws, stack.resources.flights_table, flight)
    baseline, saga = median_round(baselines), median_round(sagas)
    ratio = saga.per_second / baseline.per_second
    print(
        f"\nbaseline (1 no-op activity): {baseline.per_second:6.1f} wf/s,    {baseline.cpu_ms_each:5.1f} CPU-ms each"
        f"\nbooking saga (5 steps):      {saga.per_second:6.1f} sagas/s,     {saga.cpu_ms_each:5.1f} CPU-ms each"
        f"\nratio saga/baseline:         {ratio:6.2f}x   (target >= 0.6; medians of {ROUNDS} alternating rounds)"
        f"\nrounds, wf/s baseline | saga: {_rounds(baselines)} | {_rounds(sagas)}"
        f"\nper-round ratio saga/baseline: {_ratios(baselines, sagas)}  (min / median / max)"
        f"\nworker CPU-ms by thread, baseline: {baseline.thread_breakdown()}"
        f"\nworker CPU-ms by thread, saga:     {saga.thread_breakdown()}"
        f"\nother processes' CPU-ms, baseline: {baseline.process_breakdown()}"
        f"\nother processes' CPU-ms, saga:     {saga.process_breakdown()}"
    )
    assert seats_left == 10, seats_left  # every saga confirmed (the driver also fails on any failed workflow)


def _ratios(baselines: list[Throughput], sagas: list[Throughput]) -> str:
    ratios = sorted(s.per_second / b.per_second for b, s in zip(baselines, sagas, strict=True))
    return f"{ratios[0]:.2f} / {ratios[len(ratios) // 2]:.2f} / {ratios[-1]:.2f}"


def _rounds(throughputs: list[Throughput]) -> str:
    return " ".join(f"{t.per_second:.1f}" for t in throughputs)


IN_FLIGHT_LEVELS = tuple(int(level) for level in os.environ.get("STEPWISE_BENCH_IN_FLIGHT", "50,100,200").split(","))
"""Sagas kept in flight by the load driver, one measurement per level (``STEPWISE_BENCH_IN_FLIGHT=50,400``)."""
LEVEL_COUNT = 300
LEVEL_ROUNDS = 3


@pytest.mark.benchmark
@pytest.mark.timeout(1500)
async def test_saga_throughput_as_in_flight_grows(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_level: dict[int, list[Throughput]] = {}
    async with pipeline_worker(sessions, partner_http, monkeypatch) as stack:
        seats = WARM_UP + len(IN_FLIGHT_LEVELS) * LEVEL_ROUNDS * LEVEL_COUNT + 10
        flight = new_flight(stack.resources, seats=seats)
        await measure_driven(stack.client, stack.task_queue, "booking", WARM_UP, flight=flight)
        for _ in range(LEVEL_ROUNDS):  # levels alternate, so a slow patch of the machine hits each alike
            for level in IN_FLIGHT_LEVELS:
                throughput = await measure_driven(
                    stack.client, stack.task_queue, "booking", LEVEL_COUNT, in_flight=level, flight=flight
                )
                by_level.setdefault(level, []).append(throughput)
    print(f"\nbooking sagas/s by sagas in flight ({LEVEL_COUNT} sagas a round, {LEVEL_ROUNDS} rounds):")
    medians = {}
    for level, rounds in by_level.items():
        middle = median_round(rounds)
        medians[level] = middle.per_second
        print(
            f"  {level:4d} in flight: {spread([t.per_second for t in rounds])} sagas/s, "
            f"{middle.cpu_ms_each:.1f} worker CPU-ms each; others: {middle.process_breakdown()}"
        )
    lowest, highest = min(medians), max(medians)
    change = (medians[highest] - medians[lowest]) / medians[lowest] * 100
    print(f"  {lowest} -> {highest} in flight: {change:+.1f} % (medians; target within 10 %)")
