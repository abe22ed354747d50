"""A worker SIGKILLed in the middle of a batch: after a restart every transaction is stored once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_id_for, batch_workflow_id
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.models.b2b import B2BTransaction
from tests.support.b2b import (
    finished_batch,
    isolated_resources,
    new_partner,
    note,
    put_inbound,
    trail,
    transactions_of,
    transactions_xml,
    wait_for,
)
from tests.support.batch_load import dynamodb_count
from tests.support.processes import stack_env, start_worker
from worker.devstack.processes import free_port
from worker.settings import Settings

RECORDS = 400

pytestmark = pytest.mark.fault


@pytest.fixture
def slow_enrichment(emulators: Any) -> Iterator[None]:
    """Enrichment answers in 0.2 s, so the batch is still running when the worker dies."""
    emulators.state.enrichment.latency_seconds = 0.2
    yield
    emulators.state.enrichment.latency_seconds = 0.0


async def _stored(sessions: SessionMaker, partner: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(B2BTransaction.partner_id == partner, B2BTransaction.status == "STORED")
        return int(await session.scalar(query) or 0)


async def test_a_batch_survives_its_worker_being_killed_and_stores_each_transaction_once(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    aws_endpoint: str,
    slow_enrichment: None,
    tmp_path: Path,
) -> None:
    resources = isolated_resources()
    partner = new_partner()

    def worker_env() -> dict[str, str]:
        return stack_env(
            dev_env,
            settings,
            STEPWISE_AWS__NAME_PREFIX=resources.prefix,
            STEPWISE_B2B__INTAKE_ENABLED="true",
            STEPWISE_B2B__INTAKE_WAIT_SECONDS="1",
            STEPWISE_B2B__CHUNK_SIZE="100",
            STEPWISE_B2B__MAX_IN_FLIGHT="20",
            STEPWISE_WORKER__HEALTH_PORT=str(free_port()),
            STEPWISE_WORKER__METRICS_PORT=str(free_port()),
        )

    log = tmp_path / "worker.log"
    first = start_worker(worker_env(), str(log))
    second = None
    try:
        body = transactions_xml((f"K{i}", note(i, i + 1)) for i in range(RECORDS))
        key, etag = await put_inbound(aws, resources, partner, "big.xml", body)
        batch_id = batch_id_for(partner, key, etag)
        stored_at_kill = await wait_for(lambda: _at_least(sessions, partner, 60), timeout=60)
        first.kill()  # SIGKILL: no drain, no goodbye
        await asyncio.to_thread(first.wait, 10)
        assert stored_at_kill < RECORDS, "the batch finished before the kill; slow it down"
        second = start_worker(worker_env(), str(log))
        batch = await finished_batch(sessions, batch_id, timeout=150)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()

    assert batch.status == "COMPLETED", log.read_text()[-3000:]
    assert batch.report is not None and batch.report["stored"] == RECORDS
    rows = await transactions_of(sessions, partner)
    assert len(rows) == RECORDS
    assert all(trail(row) == ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"] for row in rows.values())
    assert await dynamodb_count(aws, resources, partner) == RECORDS
    history = await dev_env.client.get_workflow_handle(batch_workflow_id(partner, batch_id)).fetch_history()
    retried = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
    ]
    assert retried, "the kill should have interrupted a step that then ran again"


async def _at_least(sessions: SessionMaker, partner: str, count: int) -> int | None:
    stored = await _stored(sessions, partner)
    return stored if stored >= count else None
