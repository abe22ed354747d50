"""Saga throughput against a one-no-op-activity baseline, on the same file-backed dev server.

    make bench      (or: .venv/bin/pytest tests/benchmarks -m benchmark -s)

The worker runs in this process with the real activities; the AWS emulator and the
payment provider emulator run in their own processes (as under `make run`), so the
CPU-ms figures are the worker's (plus the small cost of starting the workflows). The
figure that matters is the ratio, measured in one run so machine noise cancels.
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
from tests.benchmarks.support import NoopWorkflow, file_backed_dev_server, measure, noop, out_of_process_partners
from tests.e2e.booking_support import booking_request, new_flight
from worker.devstack.aws import apply_resources
from workflows.booking import BookingWorkflow
from workflows.catalog import WORKFLOWS

COUNT = 200


@pytest.mark.benchmark
@pytest.mark.timeout(900)
async def test_saga_throughput_against_the_noop_baseline(
    sessions: Any, http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tempfile.TemporaryDirectory() as state:
        async with (
            out_of_process_partners(Path(state)) as (aws_endpoint, emulator_url),
            file_backed_dev_server() as client,
        ):
            monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
            resources = Resources()
            apply_resources(resources)
            deps = ActivityDeps(
                aws=AwsClients(),
                sessions=sessions,
                resources=resources,
                client=client,
                http=http,
                partners=PartnerEndpoints(f"{emulator_url}/payments", f"{emulator_url}/enrichment"),
            )
            queue = f"bench-{uuid.uuid4()}"
            async with Worker(
                client,
                task_queue=queue,
                workflows=[*WORKFLOWS, NoopWorkflow],
                activities=[*build_activities(deps), noop],
            ):
                await measure(
                    20,
                    lambda i: client.execute_workflow(NoopWorkflow.run, i, id=f"warm-{uuid.uuid4()}", task_queue=queue),
                )
                baseline = await measure(
                    COUNT,
                    lambda i: client.execute_workflow(NoopWorkflow.run, i, id=f"noop-{uuid.uuid4()}", task_queue=queue),
                )
                flight = new_flight(resources, seats=COUNT + 10)
                saga = await measure(
                    COUNT,
                    lambda i: client.execute_workflow(
                        BookingWorkflow.run,
                        (request := booking_request(flight)),
                        id=f"booking-{request.request_id}",
                        task_queue=queue,
                    ),
                )
    ratio = saga.per_second / baseline.per_second
    print(
        f"\nbaseline (1 no-op activity): {baseline.per_second:6.1f} wf/s,    {baseline.cpu_ms_each:5.1f} CPU-ms each"
        f"\nbooking saga (5 steps):      {saga.per_second:6.1f} sagas/s,     {saga.cpu_ms_each:5.1f} CPU-ms each"
        f"\nratio saga/baseline:         {ratio:6.2f}x"
    )
    assert saga.per_second > 0
