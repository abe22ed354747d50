"""`start --wait` stops at a parked step: it prints the step, its error and the decide command,
and exits 5 instead of blocking; plain progress lines when stderr is not a terminal."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import StepDecision
from tests.e2e.booking_support import World, new_flight
from tests.e2e.test_booking_rescue import refund_fails_until_fixed
from tests.e2e.test_booking_saga import fails_after_running
from tests.support.processes import stack_env, stepwise
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput
from worker.commands.follow import EXIT_PARKED, follow
from worker.services.booking import workflow_id
from worker.settings import Settings
from workflows.booking.workflow import BookingWorkflow


async def test_booking_start_wait_exits_5_naming_the_parked_step_and_how_to_decide(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=5)
    request_id = f"wait-{uuid.uuid4().hex[:10]}"
    state = {"fixed": False}
    replace = {"confirm_booking": fails_after_running, "refund_payment": refund_fails_until_fixed(state)}
    async with stepwise_worker(dev_env.client, replace=replace):
        cli = await asyncio.to_thread(
            stepwise,
            *("booking", "start", "--flight", flight, "--customer", "cust-7", "--amount", "120.00"),
            *("--currency", "EUR", "--payment-token", "tok_visa", "--request-id", request_id, "--wait"),
            env=stack_env(dev_env, settings),
        )
        assert cli.returncode == EXIT_PARKED, cli.stderr
        lines = cli.stderr.strip().splitlines()
        wid = workflow_id(request_id)
        assert lines[-2:] == [
            "step refund_payment is waiting for an operator: PaymentProviderOutage: refunds are down",
            f"decide with: stepwise decide {wid} refund_payment retry|skip|abort --operator NAME --reason TEXT",
        ]
        # Not a terminal: any progress came as plain lines (no cursor codes).
        assert "\x1b" not in cli.stderr
        state["fixed"] = True
        handle = dev_env.client.get_workflow_handle_for(BookingWorkflow.run, wid)
        await handle.execute_update(
            BookingWorkflow.decide, StepDecision("refund_payment", "retry", operator="ada", reason="back")
        )
        booking = None
        for _ in range(100):
            booking = await world.booking(request_id)
            if booking is not None and booking.status == "CANCELLED":
                break
            await asyncio.sleep(0.1)
    assert booking is not None and booking.status == "CANCELLED"
    assert len(world.refunds(request_id)) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_on_a_terminal_the_current_step_is_rewritten_in_place_until_a_step_parks(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["slow:a", "b"]))
    terminal = _Terminal()
    parked = await follow(dev_env.client, handle.id, out=terminal)
    assert parked is not None and (parked.step, parked.error_type) == ("b", "InjectedFault")
    assert f"\r\x1b[K{handle.id}: running slow:a" in terminal.getvalue()
    await handle.terminate("test over")
