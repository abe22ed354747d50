"""A worker SIGKILLed after the provider charged, before the activity reported back:
after a restart the booking completes with exactly one charge."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.booking_support import World, booking_request, new_flight
from tests.support.processes import stack_env, start_worker
from worker.devstack.processes import free_port
from worker.services.booking import submit_booking, workflow_id
from worker.settings import Settings
from workflows.booking.workflow import BookingWorkflow

pytestmark = pytest.mark.fault


async def test_killed_mid_payment_then_restarted_charges_once_and_confirms(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, aws_endpoint: str, tmp_path: Path
) -> None:
    flight = new_flight(world.resources, seats=5)
    # The provider records this charge, then withholds its answer: the worker dies waiting.
    request = booking_request(flight, token="tok_hang_after_charge")
    env = stack_env(dev_env, settings, AWS_ENDPOINT_URL=aws_endpoint, STEPWISE_WORKER__HEALTH_PORT=str(free_port()))
    log = str(tmp_path / "worker.log")
    first = start_worker({**env, "STEPWISE_WORKER__METRICS_PORT": str(free_port())}, log)
    second: Any = None
    try:
        await submit_booking(dev_env.client, settings.worker.task_queue, request)
        deadline = time.monotonic() + 60
        while not world.charges(request.request_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert world.charges(request.request_id), Path(log).read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)

        second = start_worker({**env, "STEPWISE_WORKER__METRICS_PORT": str(free_port())}, log)
        handle = dev_env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(request.request_id))
        result = await asyncio.wait_for(handle.result(), 90)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()

    assert result.status == "CONFIRMED"
    assert len(world.charges(request.request_id)) == 1
    assert world.payments.attempts[f"booking:{request.request_id}:charge"] == 2
    payment = await world.payment(request.request_id)
    assert payment is not None
    assert payment.charge_id == world.charges(request.request_id)[0]["id"]
    assert await world.capacity(flight) == 4
