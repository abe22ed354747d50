"""A worker stopped with SIGTERM exports the spans it still holds before it exits."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.resources import Resources
from activities.doctor.contracts import ProbeInput
from tests.support.fleet import WorkerFleet
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.processes import stack_env
from worker.settings import Settings
from workflows.doctor.workflow import PROBES, DoctorWorkflow


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    started = OtlpReceiver().start()
    yield started
    started.stop()


async def test_the_spans_of_the_last_activities_reach_the_collector_after_sigterm(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws_endpoint: str,
    receiver: OtlpReceiver,
    tmp_path: Path,
) -> None:
    env = stack_env(
        dev_env,
        settings,
        AWS_ENDPOINT_URL=aws_endpoint,
        STEPWISE_TELEMETRY__TRACING="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        # The batch processor would export on its own only after a minute: what the collector
        # gets below was exported at shutdown.
        OTEL_BSP_SCHEDULE_DELAY="60000",
    )
    fleet = WorkerFleet(env, tmp_path)
    try:
        worker = await fleet.start_one()
        probe = f"doctor-{uuid.uuid4()}"
        report = await dev_env.client.execute_workflow(
            DoctorWorkflow.run, ProbeInput(probe), id=probe, task_queue=settings.worker.task_queue
        )
        assert report.healthy, report
        assert receiver.span_names == []  # nothing exported yet: the spans sit in the batch
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 60) == 0
    finally:
        fleet.stop_all()
    expected = {f"RunActivity:doctor_{name.replace('-', '_')}" for name in PROBES}
    assert expected <= set(receiver.span_names), receiver.span_names
