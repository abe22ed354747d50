"""A worker stopped with SIGTERM exports the spans it still holds before it exits."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.doctor import ProbeInput
from activities.resources import Resources
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.processes import stack_env, start_worker
from worker.devstack.processes import free_port
from worker.settings import Settings
from workflows.doctor import PROBES, DoctorWorkflow


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    started = OtlpReceiver().start()
    yield started
    started.stop()


async def _until_ready(health_url: str, log: Path) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{health_url}/readyz")).status_code == 200:
                    return
            except httpx.ConnectError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the worker did not become ready: {log.read_text()[-2000:]}")


async def test_the_spans_of_the_last_activities_reach_the_collector_after_sigterm(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws_endpoint: str,
    receiver: OtlpReceiver,
    tmp_path: Path,
) -> None:
    health_port = free_port()
    env = stack_env(
        dev_env,
        settings,
        AWS_ENDPOINT_URL=aws_endpoint,
        STEPWISE_WORKER__HEALTH_PORT=str(health_port),
        STEPWISE_WORKER__METRICS_PORT=str(free_port()),
        STEPWISE_TELEMETRY__TRACING="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        # The batch processor would export on its own only after a minute: what the collector
        # gets below was exported at shutdown.
        OTEL_BSP_SCHEDULE_DELAY="60000",
    )
    log = tmp_path / "worker.log"
    worker = start_worker(env, str(log))
    try:
        await _until_ready(f"http://127.0.0.1:{health_port}", log)
        probe = f"doctor-{uuid.uuid4()}"
        report = await dev_env.client.execute_workflow(
            DoctorWorkflow.run, ProbeInput(probe), id=probe, task_queue=settings.worker.task_queue
        )
        assert report.healthy, report
        assert receiver.span_names == []  # nothing exported yet: the spans sit in the batch
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    expected = {f"RunActivity:doctor_{name.replace('-', '_')}" for name in PROBES}
    assert expected <= set(receiver.span_names), receiver.span_names
