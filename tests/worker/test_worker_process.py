"""The worker process: health endpoints, and a graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.doctor.contracts import ProbeInput
from tests.support.aws_fault_proxy import AwsFaultProxy, Fault
from tests.support.processes import stack_env, start_worker
from worker.devstack.processes import free_port
from worker.main import run_worker
from worker.settings import Settings
from workflows.doctor.workflow import DoctorWorkflow


async def test_health_and_readiness_report_each_dependency(
    dev_env: WorkflowEnvironment, settings: Settings, resources: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    health_port, metrics_port = free_port(), free_port()
    configured = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"health_port": health_port, "metrics_port": metrics_port})}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(configured, stop=stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_port}") as http:
            for _ in range(100):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.ConnectError:
                    pass
                await asyncio.sleep(0.1)
            healthz = await http.get("/healthz")
            readyz = await http.get("/readyz")
            missing = await http.get("/nope")
        assert healthz.status_code == 200
        assert readyz.status_code == 200
        assert readyz.json()["checks"] == {"temporal": "ok", "postgres": "ok", "worker": "ok"}
        assert missing.status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert "temporal_" in metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_sigterm_lets_the_running_activity_finish_then_exits_zero(
    dev_env: WorkflowEnvironment, settings: Settings, resources: object, aws_endpoint: str, tmp_path: Path
) -> None:
    # The DynamoDB probe goes through a proxy that holds its first request for 4 s: a long activity.
    # (DynamoDB, not SQS: the worker's DLQ monitor sends SQS requests of its own at start.)
    proxy = AwsFaultProxy(upstream=aws_endpoint, faults=[Fault(count=1, delay_seconds=4)]).start()
    env = stack_env(
        dev_env,
        settings,
        AWS_ENDPOINT_URL=aws_endpoint,
        AWS_ENDPOINT_URL_DYNAMODB=proxy.url,
        STEPWISE_WORKER__HEALTH_PORT=str(free_port()),
        STEPWISE_WORKER__METRICS_PORT=str(free_port()),
        STEPWISE_WORKER__GRACEFUL_SHUTDOWN_SECONDS="30",
    )
    worker = start_worker(env, str(tmp_path / "worker.log"))
    try:
        handle = await dev_env.client.start_workflow(
            DoctorWorkflow.run,
            ProbeInput(f"drain-{uuid.uuid4()}"),
            id=f"drain-{uuid.uuid4()}",
            task_queue=settings.worker.task_queue,
        )
        deadline = time.monotonic() + 30
        while proxy.requests_seen == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert proxy.requests_seen > 0, (tmp_path / "worker.log").read_text()
        # Let the quick probes finish so the DynamoDB probe is the one activity in flight.
        await asyncio.sleep(1)
        worker.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        exit_code = await asyncio.to_thread(worker.wait, 60)
        drained_in = time.monotonic() - signalled
    finally:
        if worker.poll() is None:
            worker.kill()
        proxy.stop()
    assert exit_code == 0, (tmp_path / "worker.log").read_text()
    # Kubernetes would SIGKILL a pod still draining after its grace period (k8s/worker-deployment.yaml).
    assert drained_in < worker_grace_period_seconds()
    history = await handle.fetch_history()
    completed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    finished = {scheduled[e.activity_task_completed_event_attributes.scheduled_event_id] for e in completed}
    assert "doctor_dynamodb" in finished, (tmp_path / "worker.log").read_text()
    await handle.terminate("test over")


def worker_grace_period_seconds() -> int:
    """terminationGracePeriodSeconds of the worker Deployment in k8s/."""
    manifest = Path(__file__).resolve().parents[2] / "k8s" / "worker-deployment.yaml"
    grace: int = yaml.safe_load(manifest.read_text())["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    return grace


def test_the_heap_is_settled_once_start_up_is_done() -> None:
    import gc

    from worker.speedups.heap import YOUNG_GENERATION_THRESHOLD, settle_heap

    thresholds = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000  # the imported libraries, frozen
        assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
