"""The audit of operator decisions in Postgres (``step_decisions``): one row per decision,
accepted or rejected, written once per ``audit_id``."""

from __future__ import annotations

import datetime

from sqlalchemy.dialects.postgresql import insert

from activities.common.contracts import DecisionAudit
from activities.common.db import SessionMaker, autocommit
from activities.models.step_control import StepDecisionRecord


class DecisionLog:
    """Writes the decision audit."""

    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    async def record(self, audit: DecisionAudit) -> None:
        """Insert the audit row; a retried write of the same ``audit_id`` changes nothing."""
        values = {
            "audit_id": audit.audit_id,
            "workflow_id": audit.workflow_id,
            "run_id": audit.run_id,
            "pipeline": audit.pipeline,
            "step": audit.step[:200],
            "action": audit.action[:50],
            "operator": audit.operator[:200],
            "reason": audit.reason,
            "via": audit.via,
            "outcome": audit.outcome,
            "rejection": audit.rejection,
            "decided_at": datetime.datetime.fromisoformat(audit.decided_at),
            "answers": dict(audit.answers),
        }
        # One statement that stands alone: committed by itself, one round trip instead of
        # BEGIN, INSERT, COMMIT, on the path between a decision and the step it wakes.
        async with autocommit(self._sessions) as connection:
            await connection.execute(insert(StepDecisionRecord).values(**values).on_conflict_do_nothing())
