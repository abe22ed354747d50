"""A booking compensation that exhausts its retries parks for an operator instead of being lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.common.contracts import StepDecision
from activities.models.step_control import StepDecisionRecord
from tests.e2e.booking_support import World, booking_request, new_flight
from tests.e2e.test_booking_saga import fails_after_running
from tests.support.faults import fails_until_fixed
from worker.services.booking import submit_booking, workflow_id
from worker.services.operations import list_attention
from worker.settings import Settings
from workflows.booking.workflow import BookingWorkflow


def refund_fails_until_fixed(state: dict[str, bool]) -> Any:
    """The provider refuses refunds until ``state["fixed"]`` (an outage an operator waits out)."""
    return fails_until_fixed(state, "PaymentProviderOutage", "refunds are down")


async def test_a_stuck_refund_parks_shows_in_attention_and_an_operator_retry_finishes_the_saga(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight)
    state = {"fixed": False}
    replace = {"confirm_booking": fails_after_running, "refund_payment": refund_fails_until_fixed(state)}
    async with stepwise_worker(dev_env.client, replace=replace):
        await submit_booking(dev_env.client, settings.worker.task_queue, request)
        handle = dev_env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(request.request_id))
        waiting: list[Any] = []
        for _ in range(200):
            waiting = [a for a in await list_attention(dev_env.client) if a.workflow_id == handle.id]
            if waiting:
                break
            await asyncio.sleep(0.1)
        assert [(a.pipeline, a.step, a.error_type) for a in waiting] == [
            ("booking", "refund_payment", "PaymentProviderOutage")
        ]
        # Nothing was compensated behind the operator's back while the refund waits.
        assert await world.capacity(flight) == 4
        assert world.refunds(request.request_id) == []

        state["fixed"] = True
        decision = StepDecision("refund_payment", "retry", operator="ops-anna", reason="provider is back")
        await handle.execute_update(BookingWorkflow.decide, decision)
        with pytest.raises(WorkflowFailureError):
            await handle.result()  # the saga compensated, so the booking ends as a failure
    assert len(world.refunds(request.request_id)) == 1
    assert await world.capacity(flight) == 5
    booking = await world.booking(request.request_id)
    assert booking is not None and booking.status == "CANCELLED"
    [story] = await world.dead_letters.about(request.request_id)
    assert [(c["step"], c["ok"]) for c in story["compensations"]] == [
        ("refund_payment", True),
        ("cancel_booking", True),
        ("release_seats", True),
    ]
    async with world.sessions() as session:
        audits = (
            await session.scalars(select(StepDecisionRecord).where(StepDecisionRecord.workflow_id == handle.id))
        ).all()
    assert [(a.step, a.action, a.operator, a.outcome) for a in audits] == [
        ("refund_payment", "retry", "ops-anna", "accepted")
    ]
    assert [a for a in await list_attention(dev_env.client) if a.workflow_id == handle.id] == []
