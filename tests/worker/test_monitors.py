"""The worker's own monitors: dead-letter queue depth, and business counters that start at zero."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from tests.deploy.support import series
from tests.e2e.booking_support import booking_request, new_flight
from tests.support.running_worker import running_worker
from worker.devstack.aws import apply_resources
from worker.devstack.processes import free_port
from worker.monitors import BOOKING_COMPENSATIONS, BOOKING_OUTCOMES, COMPENSATION_RESULTS, DLQ_DEPTH, DlqMonitor
from worker.services.booking import submit_booking, workflow_id
from worker.settings import Settings


def test_every_dead_letter_queue_is_watched() -> None:
    resources = Resources(prefix="p-")
    watched = set(resources.dead_letter_queues)
    redrive_targets = {q.dead_letter_queue for q in resources.queues if q.dead_letter_queue}
    named_as_dlq = {q.name for q in resources.queues if q.name.endswith("-dlq")}
    assert redrive_targets | named_as_dlq == watched
    assert watched <= {q.name for q in resources.queues}


async def test_the_dlq_monitor_exports_each_queue_depth_and_survives_a_missing_queue(
    aws_endpoint: str, aws: AwsClients
) -> None:
    own = Resources(prefix=f"mon{uuid.uuid4().hex[:8]}-")  # queues no other test writes to
    await asyncio.to_thread(apply_resources, own)
    url = (await aws.call("sqs", "get_queue_url", QueueName=own.booking_dlq))["QueueUrl"]
    for n in range(2):
        await aws.call("sqs", "send_message", QueueUrl=url, MessageBody=f"dead letter {n}")
    port = free_port()
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")))
    missing = f"{own.prefix}never-created-dlq"
    monitor = DlqMonitor(aws, [*own.dead_letter_queues, missing], runtime.metric_meter)

    await monitor.poll_once()

    async with httpx.AsyncClient() as http:
        exposition = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    depths = {dict(labels)["queue"]: value for labels, value in _samples(exposition, DLQ_DEPTH).items()}
    # The missing queue is logged and skipped; the others are still read.
    assert depths == {queue: (2 if queue == own.booking_dlq else 0) for queue in own.dead_letter_queues}


def _samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Label set (sorted) -> value of each series of a counter or gauge."""
    found = {}
    for line in exposition.splitlines():
        if line.startswith(name + "{"):
            labels_text, value = line.rsplit(" ", 1)
            [labels] = series(labels_text + " 0", name)
            found[tuple(sorted(labels.items()))] = float(value)
    return found


async def test_business_counters_exist_at_zero_and_the_saga_increments_those_same_series(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = booking_request(new_flight(resources, seats=5), token="tok_declined")
    async with running_worker(dev_env, settings, monkeypatch) as worker:
        before = await worker.metrics()
        await submit_booking(dev_env.client, settings.worker.task_queue, request)
        with pytest.raises(WorkflowFailureError) as failure:
            await dev_env.client.get_workflow_handle(workflow_id(request.request_id)).result()
        assert isinstance(failure.value.cause, ApplicationError)
        assert failure.value.cause.type == "PaymentDeclined"
        after = await worker.metrics()

    bookings_before = _samples(before, "stepwise_bookings_total")
    assert sorted(dict(labels)["outcome"] for labels in bookings_before) == sorted(BOOKING_OUTCOMES)
    assert set(bookings_before.values()) == {0}
    for labels in bookings_before:
        assert dict(labels)["task_queue"] == settings.worker.task_queue
        assert dict(labels)["workflow_type"] == "BookingWorkflow"
    # The failed booking added to the zero series: no second series with other labels appeared.
    bookings_after = _samples(after, "stepwise_bookings_total")
    assert set(bookings_after) == set(bookings_before)
    assert {dict(k)["outcome"]: v for k, v in bookings_after.items()} == {
        "confirmed": 0,
        "failed": 1,
        "cancelled_by_customer": 0,
    }

    compensations_before = _samples(before, "stepwise_booking_compensations_total")
    assert len(compensations_before) == len(BOOKING_COMPENSATIONS) * len(COMPENSATION_RESULTS)
    compensations_after = _samples(after, "stepwise_booking_compensations_total")
    assert set(compensations_after) == set(compensations_before)
    ran = {(dict(k)["step"], dict(k)["result"]) for k, v in compensations_after.items() if v}
    assert ran == {("refund_payment", "ok"), ("cancel_booking", "ok"), ("release_seats", "ok")}

    for name in ("stepwise_steps_parked_total", "stepwise_decisions_total"):
        assert list(_samples(before, name).values()) == [0], name
