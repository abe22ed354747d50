"""The Temporal server restarts (same SQLite file) while a reconciliation waits for sign-off;
after the restart the operator's decision completes the run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.recon import ReconRun
from activities.recon.contracts import ReconciliationResult
from tests.support.recon import databases_left, start_demo, wait_phase
from tests.support.temporal_server import OwnDevServer
from worker.settings import Settings

pytestmark = pytest.mark.fault


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnDevServer]:
    server = OwnDevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    server.start()
    yield server
    server.stop()


async def test_a_signoff_decided_after_a_server_restart_completes_the_run(
    own_server: OwnDevServer,
    settings: Settings,
    resources: Resources,
    stepwise_worker: Any,
    sessions: SessionMaker,
) -> None:
    client = await own_server.client()
    async with stepwise_worker(client):
        handle = await start_demo(client, settings.worker.task_queue, resources)
        await wait_phase(handle, "awaiting-signoff")

    await asyncio.to_thread(own_server.stop)
    await asyncio.to_thread(own_server.start)

    client = await own_server.client()
    handle = client.get_workflow_handle(handle.id, result_type=ReconciliationResult)
    async with stepwise_worker(client):
        await wait_phase(handle, "awaiting-signoff")
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("signoff", "approve", operator="ada", reason="after restart"),
            result_type=DecisionOutcome,
        )
        result = await handle.result()
    assert result.outcome == "approved" and result.signoff_reason == "after restart"
    async with sessions() as session:
        run = await session.get(ReconRun, handle.id)
    assert run is not None and run.status == "APPROVED"
    assert await databases_left(sessions, handle.id) == []
