"""Helpers for reconciliation tests: start the demo, wait for a phase, look for leftovers."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

from sqlalchemy import select, text
from temporalio.client import Client, WorkflowHandle

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.recon import ReconReportResult
from activities.recon.contracts import ReconciliationInput, ReconciliationResult, ReconciliationStatus
from activities.recon.providers import split_s3_uri
from worker.services.recon import start_reconciliation, with_demo_defaults

PLANTED_KEYS = {"L-003", "L-007", "L-011"}
"""Loans whose monthly interest is not a whole amount: v2's rounding changes exactly these."""


async def start_demo(
    client: Client, task_queue: str, resources: Resources, **overrides: Any
) -> WorkflowHandle[Any, ReconciliationResult]:
    """Start the demo reconciliation (acme, v1 -> v2) under a fresh run label."""
    request = ReconciliationInput(
        client_id=overrides.pop("client_id", "acme"),
        baseline="v1",
        candidate="v2",
        run=overrides.pop("run", f"t{uuid.uuid4().hex[:10]}"),
        snapshot_uri="",
        report_packs_uri="",
        **overrides,
    )
    workflow_id = await start_reconciliation(client, task_queue, with_demo_defaults(request, resources))
    return client.get_workflow_handle(workflow_id, result_type=ReconciliationResult)


async def wait_phase(handle: WorkflowHandle[Any, Any], phase: str, timeout: float = 90) -> ReconciliationStatus:
    """Poll the run's status query until it reaches ``phase``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status: ReconciliationStatus = await handle.query("recon.status", result_type=ReconciliationStatus)
        if status.phase == phase:
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{handle.id} stuck in phase {status.phase}")
        await asyncio.sleep(0.2)


async def databases_left(sessions: SessionMaker, run_id: str) -> list[str]:
    """Environment databases of a run still on the server."""
    from activities.recon.contracts import EnvironmentRef
    from activities.recon.providers import environment_name

    names = [environment_name(EnvironmentRef("local-postgres", run_id, v)) for v in ("v1", "v2")]
    async with sessions() as session:
        found = await session.scalars(
            text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"), {"names": names}
        )
        return list(found)


async def results(sessions: SessionMaker, run_id: str) -> dict[str, ReconReportResult]:
    """The run's per-report rows by report."""
    async with sessions() as session:
        rows = await session.scalars(select(ReconReportResult).where(ReconReportResult.run_id == run_id))
        return {row.report: row for row in rows}


async def read_csv(aws: AwsClients, uri: str) -> list[dict[str, str]]:
    """An S3 CSV as dict rows."""
    bucket, key = split_s3_uri(uri)
    return list(csv.DictReader(io.StringIO((await aws.read_object(bucket, key)).decode())))
