"""Saga throughput against a one-no-op-activity baseline, on the same file-backed dev server.

    make bench      (or: .venv/bin/pytest tests/benchmarks -m benchmark -s)

The worker runs in this process with the real activities; the AWS emulator, the payment
provider emulator and the load (``load_driver``, which starts the workflows and waits for
their results) run in processes of their own, so the CPU-ms figures are the worker's
alone. The figure that matters is the ratio, measured in one run so machine noise cancels.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.worker import Worker

from activities.aws import AwsClients
from activities.catalog import ActivityDeps, PartnerEndpoints, build_activities
from activities.resources import Resources
from tests.benchmarks.noop_workflow import BenchNoopWorkflow, noop
from tests.benchmarks.support import file_backed_dev_server, measure_driven, out_of_process_partners
from tests.e2e.booking_support import new_flight
from tests.support.world import seat_capacity
from worker.devstack.aws import apply_resources
from workflows.catalog import WORKFLOWS

COUNT = 200


@pytest.mark.benchmark
@pytest.mark.timeout(900)
async def test_saga_throughput_against_the_noop_baseline(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        tempfile.TemporaryDirectory() as state,
        out_of_process_partners(Path(state)) as (aws_endpoint, emulator_url),
    ):
        async with file_backed_dev_server() as client:
            monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
            resources = Resources()
            apply_resources(resources)
            deps = ActivityDeps(
                aws=AwsClients(),
                sessions=sessions,
                resources=resources,
                client=client,
                http=partner_http,
                partners=PartnerEndpoints(f"{emulator_url}/payments", f"{emulator_url}/enrichment"),
            )
            queue = f"bench-{uuid.uuid4()}"
            async with Worker(
                client,
                task_queue=queue,
                workflows=[*WORKFLOWS, BenchNoopWorkflow],
                activities=[*build_activities(deps), noop],
            ):
                await measure_driven(client, queue, "noop", 20)  # warm-up
                baseline = await measure_driven(client, queue, "noop", COUNT)
                flight = new_flight(resources, seats=COUNT + 10)
                saga = await measure_driven(client, queue, "booking", COUNT, flight=flight)
                seats_left = await seat_capacity(deps.aws, resources.flights_table, flight)
    ratio = saga.per_second / baseline.per_second
    print(
        f"\nbaseline (1 no-op activity): {baseline.per_second:6.1f} wf/s,    {baseline.cpu_ms_each:5.1f} CPU-ms each"
        f"\nbooking saga (5 steps):      {saga.per_second:6.1f} sagas/s,     {saga.cpu_ms_each:5.1f} CPU-ms each"
        f"\nratio saga/baseline:         {ratio:6.2f}x"
        f"\nworker CPU-ms by thread, baseline: {baseline.thread_breakdown()}"
        f"\nworker CPU-ms by thread, saga:     {saga.thread_breakdown()}"
    )
    assert seats_left == 10, seats_left  # every saga confirmed (the driver also fails on any failed workflow)
