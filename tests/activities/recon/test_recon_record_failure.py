"""A failed reconciliation is FAILED in Postgres and its story is in recon-dlq, once."""

from __future__ import annotations

import uuid

from temporalio.testing import ActivityEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.recon import ReconRun
from activities.recon.activities import ReconActivities
from activities.recon.contracts import ReconFailure, RunRecord
from tests.support.world import QueueReader


async def test_a_failure_marks_the_run_failed_and_dead_letters_it_once(
    aws: AwsClients, sessions: SessionMaker, resources: Resources
) -> None:
    recon = ReconActivities(aws, sessions, resources, providers={})
    run_id = f"recon-acme-f{uuid.uuid4().hex[:8]}"
    await ActivityEnvironment().run(recon.record_run, RunRecord(run_id, "acme", "v1", "v2", "RUNNING"))
    failure = ReconFailure(run_id, "acme", "v1", "v2", "restore", "SnapshotInvalid", "line 7: syntax error")
    for _ in range(2):  # a retried activity sends nothing twice
        await ActivityEnvironment().run(recon.record_failure, failure)
    async with sessions() as session:
        row = await session.get(ReconRun, run_id)
    assert row is not None and row.status == "FAILED"
    dead = [m for m in await (await QueueReader.of_queue(aws, resources.recon_dlq)).drain() if m["run_id"] == run_id]
    assert dead == [
        {
            "event": "recon.failed",
            "workflow_id": run_id,
            "run_id": run_id,
            "client_id": "acme",
            "baseline": "v1",
            "candidate": "v2",
            "failed_step": "restore",
            "error_type": "SnapshotInvalid",
            "reason": "line 7: syntax error",
        }
    ]
