"""Step control's business metrics reach the worker's Prometheus endpoint under their contract names."""

from __future__ import annotations

import httpx
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.decision_log import DecisionLog
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.step_control import StepControlActivities
from tests.support.step_control import wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeChildWorkflow, ProbeInput, StepProbeWorkflow
from worker.devstack.processes import free_port
from worker.telemetry import SECONDS_BUCKETS


async def test_parks_decisions_and_wait_time_are_exported(
    dev_env: WorkflowEnvironment, task_queue: str, aws: AwsClients, sessions: SessionMaker, resources: Resources
) -> None:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{port}",
                histogram_bucket_overrides={"stepwise_step_parked_seconds": SECONDS_BUCKETS},
            )
        )
    )
    client = await Client.connect(dev_env.client.service_client.config.target_host, runtime=runtime)
    probe = ProbeActivities()
    probe.armed.add("b")
    control = StepControlActivities(DecisionLog(sessions), Notifier(aws, sessions), resources)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[StepProbeWorkflow, ProbeChildWorkflow],
        activities=[probe.step, probe.cleanup, control.record_decision, control.notify],
    ):
        handle = await start_probe(client, task_queue, ProbeInput(steps=["b"]))
        await wait_waiting(handle, "b")
        probe.armed.clear()
        await handle.execute_update(
            DECIDE_UPDATE, StepDecision("b", "retry", operator="ada"), result_type=DecisionOutcome
        )
        await handle.result()
    async with httpx.AsyncClient() as http:
        lines = (await http.get(f"http://127.0.0.1:{port}/metrics")).text.splitlines()

    def value(prefix: str, *labels: str) -> float:
        found = [line for line in lines if line.startswith(prefix + "{") and all(label in line for label in labels)]
        assert found, f"{prefix} with {labels} not exported"
        return float(found[0].split()[-1])

    assert value("stepwise_steps_parked_total", 'pipeline="probe"', 'step="b"') == 1
    assert value("stepwise_decisions_total", 'pipeline="probe"', 'action="retry"') == 1
    assert value("stepwise_step_parked_seconds_count", 'pipeline="probe"') == 1
