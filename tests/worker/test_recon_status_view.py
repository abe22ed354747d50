"""The reconciliation view never pairs a newer workflow phase with an older Postgres status.

The summarise step commits the run's AWAITING_SIGNOFF row, then the workflow's phase moves
to ``awaiting-signoff``. A view that read the row before asking the workflow could land
between the two and say ``awaiting-signoff`` with status RUNNING (``stepwise recon start
--wait`` once returned exactly that). Here the step commits while the view is asking the
workflow, the moment that tore the view.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from temporalio.client import WorkflowExecutionStatus

from activities.common.db import SessionMaker
from activities.models.recon import ReconRun
from activities.recon.contracts import ReconciliationStatus
from tests.support.stub_temporal import Described, GoneWorkflow, OneWorkflowClient
from worker.services.recon import ReconciliationNotFound, reconciliation_status


class _RunCommittingMidView:
    """A workflow handle whose summarise step commits just before the workflow reports its new phase."""

    def __init__(self, sessions: SessionMaker, run_id: str) -> None:
        self._sessions = sessions
        self._run_id = run_id

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING)

    async def query(self, name: str, result_type: type) -> Any:
        if name != "recon.status":
            return None
        async with self._sessions.begin() as session:
            await session.execute(
                update(ReconRun).where(ReconRun.run_id == self._run_id).values(status="AWAITING_SIGNOFF")
            )
        return ReconciliationStatus(run_id=self._run_id, phase="awaiting-signoff", reports_total=1, compared=1)


async def test_the_phase_is_never_newer_than_the_status(sessions: SessionMaker) -> None:
    run_id = f"recon-view-{uuid.uuid4().hex[:8]}"
    async with sessions.begin() as session:
        session.add(ReconRun(run_id=run_id, client_id="acme", baseline="v1", candidate="v2", status="RUNNING"))
    client = OneWorkflowClient(_RunCommittingMidView(sessions, run_id))
    view = await reconciliation_status(client, sessions, run_id)  # type: ignore[arg-type]
    assert (view.phase, view.status) == ("awaiting-signoff", "AWAITING_SIGNOFF")


async def test_a_run_neither_temporal_nor_postgres_knows_is_not_found(sessions: SessionMaker) -> None:
    with pytest.raises(ReconciliationNotFound):
        await reconciliation_status(OneWorkflowClient(GoneWorkflow()), sessions, f"recon-none-{uuid.uuid4().hex[:8]}")  # type: ignore[arg-type]


async def test_a_finished_run_gone_from_temporal_is_read_from_postgres(sessions: SessionMaker) -> None:
    run_id = f"recon-old-{uuid.uuid4().hex[:8]}"
    async with sessions.begin() as session:
        session.add(ReconRun(run_id=run_id, client_id="acme", baseline="v1", candidate="v2", status="APPROVED"))
    view = await reconciliation_status(OneWorkflowClient(GoneWorkflow()), sessions, run_id)  # type: ignore[arg-type]
    assert (view.execution, view.phase, view.status) == ("UNKNOWN", "", "APPROVED")
