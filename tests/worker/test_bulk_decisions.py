"""Bulk decisions go out several at a time, keep the items' order, and report refusals per item.

The Temporal client here is a stand-in that answers each update after a short wait and counts
how many are in flight; what a real execution does with a decision is tested end to end in
tests/worker/test_operations.py and tests/console/.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.common.contracts import DecisionOutcome, StepDecision
from worker.services.operations import BULK_IN_FLIGHT, AttentionItem, decide_many


class _Updates:
    """Answers ``execute_update`` after ``delay``; refuses or breaks for chosen executions."""

    def __init__(self, *, refused: set[str] = frozenset(), broken: set[str] = frozenset()) -> None:
        self.refused, self.broken = refused, broken
        self.in_flight = self.most_in_flight = 0
        self.sent: list[str] = []
        self.cancelled = 0

    def get_workflow_handle(self, workflow_id: str) -> Any:
        updates = self

        class Handle:
            async def execute_update(self, name: str, decision: StepDecision, **_: Any) -> DecisionOutcome:
                updates.sent.append(workflow_id)
                updates.in_flight += 1
                updates.most_in_flight = max(updates.most_in_flight, updates.in_flight)
                try:
                    # The later an item comes, the sooner it answers: order must come from the items.
                    await asyncio.sleep(0.05 / (1 + len(updates.sent)))
                    if workflow_id in updates.broken:
                        raise RPCError("server unavailable", RPCStatusCode.UNAVAILABLE, b"")
                    if workflow_id in updates.refused:
                        raise WorkflowUpdateFailedError(ApplicationError("step 'pay' is not waiting"))
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    updates.cancelled += 1
                    raise
                finally:
                    updates.in_flight -= 1
                return DecisionOutcome(decision.step, decision.action, False, f"{workflow_id} accepted")

        return Handle()


def _items(count: int) -> list[AttentionItem]:
    return [
        AttentionItem(f"wf-{i}", "run", "BookingWorkflow", "booking", f"b-{i}", "pay", None, 1.0) for i in range(count)
    ]


async def _decide(updates: _Updates, items: list[AttentionItem]) -> list[Any]:
    return await decide_many(
        cast(Client, updates), items, action="retry", operator="ada", reason="provider back", batch_id="b1"
    )


async def test_bulk_decisions_run_several_at_once_within_the_bound_in_the_items_order() -> None:
    updates = _Updates(refused={"wf-3"})
    items = _items(BULK_IN_FLIGHT * 3)
    outcomes = await _decide(updates, items)
    assert [o.workflow_id for o in outcomes] == [item.workflow_id for item in items]
    assert sorted(updates.sent) == sorted(item.workflow_id for item in items)
    assert 1 < updates.most_in_flight <= BULK_IN_FLIGHT
    assert [o.workflow_id for o in outcomes if not o.accepted] == ["wf-3"]
    assert "not waiting" in outcomes[3].message
    assert all(o.message == f"{o.workflow_id} accepted" for o in outcomes if o.accepted)


async def test_an_unexpected_error_stops_the_bulk_request_and_cancels_what_is_in_flight() -> None:
    updates = _Updates(broken={"wf-0"})
    with pytest.raises(RPCError):
        await _decide(updates, _items(BULK_IN_FLIGHT * 2))
    await asyncio.sleep(0)
    assert updates.cancelled > 0
    assert len(updates.sent) < BULK_IN_FLIGHT * 2  # the queued rest were never sent
