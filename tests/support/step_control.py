"""Helpers for tests of step-controlled workflows: wait for a park, read audits and notices."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.common.contracts import STEPS_QUERY, StepControlStatus, StepState
from activities.common.db import SessionMaker
from activities.models.common import NotificationLedger
from activities.models.step_control import StepDecisionRecord

UPDATE_EVENTS = (
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
)


async def step_status(handle: WorkflowHandle[Any, Any]) -> StepControlStatus:
    """The execution's step-control query."""
    status: StepControlStatus = await handle.query(STEPS_QUERY, result_type=StepControlStatus)
    return status


async def wait_waiting(handle: WorkflowHandle[Any, Any], step: str, timeout: float = 30) -> StepState:
    """Poll the query until ``step`` waits for a decision; return its state."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            status = await step_status(handle)
        except RPCError as error:  # a child workflow not started yet
            if error.status != RPCStatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        if step in status.waiting:
            return next(s for s in status.steps if s.name == step)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{step} never waited; steps: {status.steps}")
        await asyncio.sleep(0.1)


async def audits(sessions: SessionMaker, workflow_id: str) -> list[StepDecisionRecord]:
    """Audit rows of one execution, in decision order."""
    async with sessions() as session:
        rows = await session.scalars(
            select(StepDecisionRecord)
            .where(StepDecisionRecord.workflow_id == workflow_id)
            .order_by(StepDecisionRecord.decided_at, StepDecisionRecord.recorded_at)
        )
        return list(rows)


async def notices(sessions: SessionMaker, workflow_id: str, at_least: int = 1) -> list[NotificationLedger]:
    """Attention notices published for one execution (waits up to 10 s for ``at_least``)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with sessions() as session:
            rows = list(
                await session.scalars(
                    select(NotificationLedger)
                    .where(
                        NotificationLedger.notification_key.like(f"attention:{workflow_id}:%"),
                        NotificationLedger.message_id.is_not(None),
                    )
                    .order_by(NotificationLedger.created_at)
                )
            )
        if len(rows) >= at_least or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def update_event_count(handle: WorkflowHandle[Any, Any]) -> int:
    """How many update events the history holds."""
    history = await handle.fetch_history()
    return sum(1 for event in history.events if event.event_type in UPDATE_EVENTS)
