"""Stepwise's workflow runner: Temporal's sandbox, entered through code compiled once."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.worker.sandbox_probe import ReadsTheWallClock
from worker.sandbox import WORKFLOW_RUNNER, compiled_entry


async def test_the_sandbox_still_refuses_a_non_deterministic_call_and_compiles_its_entries_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    compiled_entry.cache_clear()
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[ReadsTheWallClock], workflow_runner=WORKFLOW_RUNNER
    ):
        for _ in range(3):
            outcome = await time_env.client.execute_workflow(
                ReadsTheWallClock.run, id=f"sandbox-{uuid.uuid4()}", task_queue=task_queue
            )
            assert outcome.startswith("refused: "), outcome
            assert "datetime.datetime.now" in outcome

    entries = compiled_entry.cache_info()
    # Creating an instance, activating it, asking it for serialization contexts: a few
    # distinct snippets, compiled the first time and reused by every later run.
    assert 0 < entries.misses <= 6, entries
    assert entries.hits >= 2 * entries.misses, entries
