"""Record the B2B histories replayed by tests/workflows/b2b/test_b2b_replay.py.

    .venv/bin/python -m tests.histories.record_b2b [SCENARIO ...]   (default: every scenario)

Runs the batch and transaction workflows on the time-skipping server with name-matched
mock activities (the histories have the same shape as with real ones) and writes one
JSON file per scenario. Re-record only when a workflow change is meant to be
incompatible; where executions may be running, guard the change with
``workflow.patched`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.b2b.contracts import BatchFile, BatchRun, TransactionInput
from tests.workflows.b2b.mocks import MockBatchSteps, MockTransactionSteps
from worker.devstack.temporal_server import test_server_binary
from workflows.b2b.batch import B2BBatchWorkflow
from workflows.b2b.transaction import B2BTransactionWorkflow

HERE = Path(__file__).parent
NOTE = "Transaction made between user 57 and user 732."
UNAVAILABLE = ApplicationError("enrichment API answered 503", type="EnrichmentUnavailable", non_retryable=True)
TRANSACTIONS: dict[str, tuple[str, dict[str, ApplicationError]]] = {
    "b2b_transaction_stored": (NOTE, {}),
    "b2b_transaction_quarantined": ("Paid 20 EUR to user 7", {}),
    "b2b_transaction_failed": (NOTE, {"enrich": UNAVAILABLE}),
    "b2b_transaction_stored_formatted_at_admission": (NOTE, {}),
}
FORMATTED_AT_ADMISSION = {"b2b_transaction_stored_formatted_at_admission"}
"""Scenarios whose input carries the user ids, as admission sends it (no format step)."""
BATCHES: dict[str, tuple[MockBatchSteps, int]] = {
    "b2b_batch_completed": (MockBatchSteps(chunks=2), 8000),
    "b2b_batch_quarantined": (MockBatchSteps(rejected="dtd"), 8000),
    "b2b_batch_continued_as_new": (MockBatchSteps(chunks=6), 20),
}


async def _record(env: WorkflowEnvironment, name: str, workflow: type, activities: list[Any], start: Any) -> None:
    queue = f"record-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[workflow], activities=activities):
        handle = await start(queue)
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        first_run = env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        history = await first_run.fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"wrote {name}.json ({len(history.events)} events)")


async def main(only: set[str]) -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
    try:
        for name, (message, failures) in TRANSACTIONS.items():
            if only and name not in only:
                continue
            users = ("57", "732") if name in FORMATTED_AT_ADMISSION else (None, None)
            request = TransactionInput("acme", name, message, from_user_id=users[0], to_user_id=users[1])
            await _record(
                env,
                name,
                B2BTransactionWorkflow,
                MockTransactionSteps(failures).activities(),
                lambda queue, r=request: env.client.start_workflow(
                    B2BTransactionWorkflow.run, r, id=f"b2b-acme-{r.transaction_id}", task_queue=queue
                ),
            )
        for name, (steps, budget) in BATCHES.items():
            if only and name not in only:
                continue
            run = BatchRun(
                BatchFile("acme", name, "bucket", f"b2b-inbound/acme/{name}.xml", "etag", 100, 10), None, budget
            )
            await _record(
                env,
                name,
                B2BBatchWorkflow,
                steps.activities(),
                lambda queue, r=run: env.client.start_workflow(
                    B2BBatchWorkflow.run, r, id=f"b2b-batch-acme-{r.file.batch_id}", task_queue=queue
                ),
            )
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(set(sys.argv[1:])))
