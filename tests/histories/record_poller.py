"""Record the poller histories replayed by tests/workflows/poller/test_poller_replay.py.

    .venv/bin/python -m tests.histories.record_poller

Runs PollerJobWorkflow and its slices on the time-skipping server with the name-matched mock
activities (the histories have the same shape as with real ones) and writes one JSON file per
scenario:

* ``poller_job_completed``: a job of seven pages in three slices (the job's history);
* ``poller_slice_page_skipped``: a slice whose page 2 parked after its five attempts and was
  skipped by an operator (the slice's history: the update, its audit, the failed task);
* ``poller_job_url_refused``: a job whose URL was refused when preparing it (the job's
  history: the failure recorded, the job failed);
* ``poller_retention_purged``: the retention run the schedule starts every hour, purging
  the tasks of finished jobs older than seven days with their payloads (started directly
  under the id and search attributes the schedule gives it: the time-skipping server has no
  schedules).

Re-record only when a workflow change is meant to be incompatible; where executions may be
running, guard the change with ``workflow.patched`` instead.
"""

from __future__ import annotations

import contextlib
import uuid

from temporalio.client import WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common import search_attributes
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.poller.contracts import (
    PIPELINE,
    PURGE_TASKS,
    RETENTION_SCHEDULE_ID,
    JobRequest,
    RetentionRequest,
    RetentionResult,
    job_workflow_id,
    slice_workflow_id,
)
from tests.histories.recording import Scenario, main
from tests.support.mocks import activity_name, mock_activity
from tests.support.runner import TEST_RUNNER
from tests.support.step_control import wait_waiting
from tests.workflows.poller.mocks import MockPoller
from workflows.catalog import WORKFLOWS
from workflows.poller.job import PollerJobWorkflow
from workflows.poller.retention import PollerRetentionWorkflow

PARTNER = "acme"
URL = "http://partner.test/api/"


def recorded_job_id(name: str) -> str:
    """The job id a scenario is recorded under."""
    return f"{name.replace('_', '-')}-recorded"


RECORDED_WORKFLOW_IDS = {
    "poller_job_completed": job_workflow_id(recorded_job_id("poller_job_completed")),
    "poller_slice_page_skipped": slice_workflow_id(recorded_job_id("poller_slice_page_skipped"), 0),
    "poller_job_url_refused": job_workflow_id(recorded_job_id("poller_job_url_refused")),
    # A scheduled run's id: the schedule's action id and the time it was due.
    "poller_retention_purged": f"{RETENTION_SCHEDULE_ID}-2026-12-08T03:00:00Z",
}
"""The workflow id of each recorded history (the replay runs it under the same id)."""


async def _job(env: WorkflowEnvironment, name: str, mocks: MockPoller, slice_pages: int) -> str:
    """Run one job to its end; the job's history as JSON."""
    request = JobRequest(PARTNER, URL, job_id=recorded_job_id(name), slice_pages=slice_pages, max_in_flight=2)
    queue = f"record-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=WORKFLOWS, activities=mocks.activities(), workflow_runner=TEST_RUNNER
    ):
        handle = await env.client.start_workflow(
            PollerJobWorkflow.run, request, id=job_workflow_id(request.job_id), task_queue=queue
        )
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        return (await handle.fetch_history()).to_json()


async def job_completed(env: WorkflowEnvironment) -> str:
    return await _job(env, "poller_job_completed", MockPoller(pages=7), slice_pages=3)


async def job_url_refused(env: WorkflowEnvironment) -> str:
    return await _job(env, "poller_job_url_refused", MockPoller(pages=7, url_refused=True), slice_pages=3)


async def slice_page_skipped(env: WorkflowEnvironment) -> str:
    """A page parks in the job's only slice; an operator skips it; the slice's history as JSON."""
    mocks = MockPoller(pages=3, unavailable={2})
    request = JobRequest(
        PARTNER, URL, job_id=recorded_job_id("poller_slice_page_skipped"), slice_pages=3, max_in_flight=2
    )
    queue = f"record-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=WORKFLOWS, activities=mocks.activities(), workflow_runner=TEST_RUNNER
    ):
        handle = await env.client.start_workflow(
            PollerJobWorkflow.run, request, id=job_workflow_id(request.job_id), task_queue=queue
        )
        slice_handle = env.client.get_workflow_handle(slice_workflow_id(request.job_id, 0))
        await wait_waiting(slice_handle, "fetch:2")
        decision = StepDecision("fetch:2", "skip", operator="ops-anna", reason="the partner lost that page")
        await slice_handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
        await handle.result()
        return (await slice_handle.fetch_history()).to_json()


async def retention_purged(env: WorkflowEnvironment) -> str:
    """The hourly retention run purges 2,340 old tasks and their payloads; its history as JSON."""

    @mock_activity(PURGE_TASKS)
    async def purge_tasks(request: RetentionRequest) -> RetentionResult:
        return RetentionResult(tasks=2340, objects=2298)  # three batches; some tasks had no payload left

    others = [fn for fn in MockPoller().activities() if activity_name(fn) != PURGE_TASKS.name]
    queue = f"record-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[*others, purge_tasks],
        workflow_runner=TEST_RUNNER,
    ):
        handle = await env.client.start_workflow(
            PollerRetentionWorkflow.run,
            RetentionRequest(days=7.0),
            id=RECORDED_WORKFLOW_IDS["poller_retention_purged"],
            task_queue=queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.PIPELINE, PIPELINE),
                    SearchAttributePair(search_attributes.BUSINESS_KEY, "retention"),
                ]
            ),
        )
        result = await handle.result()
        assert result == RetentionResult(tasks=2340, objects=2298), result
        return (await handle.fetch_history()).to_json()


SCENARIOS: dict[str, Scenario] = {
    "poller_job_completed": job_completed,
    "poller_slice_page_skipped": slice_page_skipped,
    "poller_job_url_refused": job_url_refused,
    "poller_retention_purged": retention_purged,
}


if __name__ == "__main__":
    main(SCENARIOS)
