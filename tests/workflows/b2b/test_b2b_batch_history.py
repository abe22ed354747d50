"""B2BBatchWorkflow's history stays bounded for very large files (time-skipping server, mock activities).

The split and dispatch steps are replaced by name-matched mocks that behave like the real
ones for a 300,000-record file (600 chunks of 500): the point here is the workflow's
own history, which must stay below Temporal's 10,240-event warning in every run of the
continue-as-new chain, with every chunk dispatched exactly once.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.b2b.contracts import BatchFile, BatchReport, BatchRun
from tests.workflows.b2b.mocks import MockBatchSteps
from workflows.b2b.batch import B2BBatchWorkflow

RECORDS = 300_000
CHUNK = 500
HISTORY_WARNING = 10_240


async def _history_lengths(env: WorkflowEnvironment, handle: WorkflowHandle[BatchReport, BatchReport]) -> list[int]:
    """Event count of every run in the continue-as-new chain, oldest first."""
    lengths = []
    run_id = handle.first_execution_run_id or handle.run_id
    while run_id:
        history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return lengths


async def _run_batch(env: WorkflowEnvironment, history_budget: int) -> tuple[BatchReport, list[int], MockBatchSteps]:
    steps = MockBatchSteps(chunks=RECORDS // CHUNK)
    task_queue = f"tq-{uuid.uuid4()}"
    file = BatchFile("acme", uuid.uuid4().hex[:24], "bucket", "b2b-inbound/acme/big.xml", "etag", CHUNK, 50)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[B2BBatchWorkflow],
        activities=steps.activities(),
        max_concurrent_activities=1,
    ):
        handle = await env.client.start_workflow(
            B2BBatchWorkflow.run,
            BatchRun(file, history_budget=history_budget),
            id=f"b2b-batch-acme-{file.batch_id}",
            task_queue=task_queue,
        )
        report = await handle.result()
        lengths = await _history_lengths(env, handle)
    return report, lengths, steps


async def test_a_300000_record_batch_stays_far_below_the_history_warning(time_env: WorkflowEnvironment) -> None:
    report, lengths, steps = await _run_batch(time_env, history_budget=8000)
    assert report.stored == RECORDS
    assert steps.dispatched == list(range(RECORDS // CHUNK))  # each chunk once, in order
    assert max(lengths) < HISTORY_WARNING, lengths


async def test_continue_as_new_carries_progress_and_dispatches_every_chunk_once(time_env: WorkflowEnvironment) -> None:
    report, lengths, steps = await _run_batch(time_env, history_budget=500)
    assert len(lengths) >= 7, lengths  # 600 chunks at ~6 events each, in runs of <= ~500 events
    assert max(lengths) < 600, lengths
    assert steps.dispatched == list(range(RECORDS // CHUNK))
    assert report.stored == RECORDS


async def test_a_step_that_exhausts_its_retries_marks_the_batch_failed(time_env: WorkflowEnvironment) -> None:
    steps = MockBatchSteps(chunks=3, dispatch_error=ApplicationError("S3 gone", type="AwsNotFound", non_retryable=True))
    task_queue = f"tq-{uuid.uuid4()}"
    file = BatchFile("acme", uuid.uuid4().hex[:24], "bucket", "b2b-inbound/acme/f.xml", "etag", 10, 5)
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[B2BBatchWorkflow], activities=steps.activities()
    ):
        handle = await time_env.client.start_workflow(
            B2BBatchWorkflow.run, BatchRun(file), id=f"b2b-batch-acme-{file.batch_id}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert isinstance(failed.value.cause, ApplicationError) and failed.value.cause.type == "BatchFailed"
    assert [(f.step, f.reason) for f in steps.failures] == [("dispatch-1", "S3 gone")]
    assert steps.dispatched == [0]
