"""The decision log: every decision a workflow received, as audited in ``step_decisions``.

Read by `stepwise decisions`, ``GET /decisions`` and the console's audit page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import select

from activities.common.db import SessionMaker
from activities.models.step_control import StepDecisionRecord

MAX_DECISIONS = 1000
"""Most rows one read returns (newest first)."""


@dataclass(frozen=True)
class DecisionFilter:
    """Which audited decisions to read; empty fields match all."""

    workflow_id: str = ""
    pipeline: str = ""
    operator: str = ""
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    limit: int = 200


@dataclass(frozen=True)
class AuditedDecision:
    """One row of the decision log."""

    workflow_id: str
    pipeline: str
    step: str
    action: str
    operator: str
    reason: str
    via: str
    """``update``, ``signal`` or ``timeout``."""
    outcome: str
    """``accepted`` or ``rejected``."""
    rejection: str
    decided_at: datetime.datetime
    answers: dict[str, str] | None = None
    """A form gate's answers by field name, as the gate validated and audited them (None for
    every other decision)."""


def parse_time(text: str) -> datetime.datetime | None:
    """An ISO 8601 filter time (UTC when it names no zone), None for empty; ValueError otherwise."""
    if not text:
        return None
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


async def list_decisions(sessions: SessionMaker, selection: DecisionFilter) -> list[AuditedDecision]:
    """Audited decisions matching ``selection``, newest first."""
    table = StepDecisionRecord
    query = select(table).order_by(table.decided_at.desc(), table.audit_id)
    if selection.workflow_id:
        query = query.where(table.workflow_id == selection.workflow_id)
    if selection.pipeline:
        query = query.where(table.pipeline == selection.pipeline)
    if selection.operator:
        query = query.where(table.operator == selection.operator)
    if selection.since is not None:
        query = query.where(table.decided_at >= selection.since)
    if selection.until is not None:
        query = query.where(table.decided_at < selection.until)
    query = query.limit(max(1, min(selection.limit, MAX_DECISIONS)))
    async with sessions() as session:
        rows = (await session.scalars(query)).all()
    return [
        AuditedDecision(
            workflow_id=row.workflow_id,
            pipeline=row.pipeline,
            step=row.step,
            action=row.action,
            operator=row.operator,
            reason=row.reason,
            via=row.via,
            outcome=row.outcome,
            rejection=row.rejection or "",
            decided_at=row.decided_at,
            answers=dict(row.answers) if row.answers else None,
        )
        for row in rows
    ]
