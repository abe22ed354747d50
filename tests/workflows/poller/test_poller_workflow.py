"""PollerJobWorkflow and its slices on the time-skipping server, with name-matched mock activities.

The partner API and the job's rows are played by :class:`MockPoller`; what is tested here is
the workflows' own logic: every page fetched once, at most ``max_in_flight`` at a time, every
history bounded however many pages a job has, and what a page that fails (parked, refused)
or a refused URL does to the job.

A parked page is waited for with time skipping locked (``wait_waiting`` polls the query; only
``handle.result()`` unlocks it): with nothing left to run, the time-skipping server would jump
straight to the executions' default ten-year timeout. The mock's retryable error therefore
asks for its next attempt soon (``next_retry_delay``, as a partner's ``Retry-After`` does), so
the five attempts take milliseconds of real time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common.contracts import DECIDE_UPDATE, STEP_ABORTED, DecisionOutcome, StepDecision, StepState
from activities.poller.contracts import (
    FAIL_TASK,
    FETCH_PAGE,
    FINISH_JOB,
    PARTNER_API_REFUSED,
    PARTNER_API_UNAVAILABLE,
    POLLER_JOB_FAILED,
    PREPARE_JOB,
    RECORD_JOB_FAILURE,
    URL_REFUSED,
    JobRequest,
    JobSummary,
    job_workflow_id,
    slice_workflow_id,
)
from tests.support.runner import catalog_worker
from tests.support.step_control import step_status, wait_waiting
from tests.workflows.poller.mocks import MockPoller
from workflows.poller.job import PollerJobWorkflow, slices
from workflows.poller.policies import FETCH_PAGE as FETCH_PAGE_POLICY

PARTNER = "acme"
URL = "http://partner.test/api/"
HISTORY_WARNING = 10_240
"""Temporal warns about a history longer than this (and the limit is 51,200)."""
OPERATOR = "ops-anna"

JobHandle = WorkflowHandle[Any, JobSummary]


def _request(**overrides: Any) -> JobRequest:
    fields: dict[str, Any] = {"job_id": f"job-{uuid.uuid4().hex[:12]}", "slice_pages": 500, "max_in_flight": 5}
    fields.update(overrides)
    return JobRequest(PARTNER, URL, **fields)


async def _start(env: WorkflowEnvironment, task_queue: str, request: JobRequest) -> JobHandle:
    return await env.client.start_workflow(
        PollerJobWorkflow.run, request, id=job_workflow_id(request.job_id), task_queue=task_queue
    )


async def _run(env: WorkflowEnvironment, task_queue: str, mocks: MockPoller, request: JobRequest) -> JobSummary:
    async with catalog_worker(env, task_queue, mocks.activities()):
        return await (await _start(env, task_queue, request)).result()


def _job_failure(failure: BaseException) -> ApplicationError:
    assert isinstance(failure, WorkflowFailureError), failure
    assert isinstance(failure.cause, ApplicationError), failure.cause
    return failure.cause


@dataclass
class Decided:
    """How a job ended after an operator's decision on a parked page, and both step reports."""

    result: JobSummary | WorkflowFailureError
    job_steps: dict[str, StepState]
    slice_steps: dict[str, StepState]


async def _steps(handle: WorkflowHandle[Any, Any]) -> dict[str, StepState]:
    """The step-control report by step name (asked while the worker runs: a closed workflow's query needs one)."""
    return {step.name: step for step in (await step_status(handle)).steps}


async def _decide_parked_page(
    env: WorkflowEnvironment, task_queue: str, mocks: MockPoller, request: JobRequest, page: int, action: str
) -> Decided:
    """Run a job whose ``page`` parks, decide ``action`` on it in its slice, and return how the job ended."""
    index = (page - 1) // request.slice_pages
    async with catalog_worker(env, task_queue, mocks.activities()):
        handle = await _start(env, task_queue, request)
        slice_handle = env.client.get_workflow_handle(slice_workflow_id(request.job_id, index))
        parked = await wait_waiting(slice_handle, f"fetch:{page}")
        assert parked.attempts == FETCH_PAGE_POLICY.retry.maximum_attempts == 5
        assert (parked.last_error_type, parked.allowed_actions) == (PARTNER_API_UNAVAILABLE, ["retry", "skip", "abort"])
        assert mocks.attempts(page) == 5
        assert (await step_status(handle)).waiting == []  # the job itself waits on its slice, not parked
        outcome = await slice_handle.execute_update(
            DECIDE_UPDATE,
            StepDecision(f"fetch:{page}", action, operator=OPERATOR, reason="the partner lost that page"),
            result_type=DecisionOutcome,
        )
        assert (outcome.step, outcome.action, outcome.duplicate) == (f"fetch:{page}", action, False)
        result: JobSummary | WorkflowFailureError
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            result = failure
        return Decided(result, await _steps(handle), await _steps(slice_handle))


# ----- slices() ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pages", "size", "expected"),
    [
        (0, 500, []),
        (1, 500, [(1, 1)]),
        (500, 500, [(1, 500)]),
        (1000, 500, [(1, 500), (501, 1000)]),
        (1001, 500, [(1, 500), (501, 1000), (1001, 1001)]),
        (7, 3, [(1, 3), (4, 6), (7, 7)]),
        (5, 1, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]),
    ],
)
def test_slices_cut_the_pages_into_inclusive_ranges(pages: int, size: int, expected: list[tuple[int, int]]) -> None:
    assert slices(pages, size) == expected


def test_slices_cover_every_page_once() -> None:
    ranges = slices(10_000, 500)
    assert len(ranges) == 20
    assert [page for first, last in ranges for page in range(first, last + 1)] == list(range(1, 10_001))


# ----- a large job ------------------------------------------------------------------


async def test_a_10000_page_job_keeps_every_history_far_below_the_warning(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    pages = 10_000
    mocks = MockPoller(pages=pages)
    request = _request(slice_pages=500, max_in_flight=5)
    started = time.monotonic()
    summary = await _run(time_env, task_queue, mocks, request)
    elapsed = time.monotonic() - started
    assert (summary.status, summary.counts["Total"], summary.failures) == ("COMPLETED", pages, [])
    assert sorted(mocks.fetches) == list(range(1, pages + 1))  # every page fetched exactly once
    assert mocks.max_in_flight <= request.max_in_flight
    assert mocks.calls == [PREPARE_JOB.name, "poller_await_tasks", FINISH_JOB.name]

    job = await time_env.client.get_workflow_handle(job_workflow_id(request.job_id)).fetch_history()
    lengths = {"job": len(job.events)}
    for index in range(len(slices(pages, request.slice_pages))):
        history = await time_env.client.get_workflow_handle(slice_workflow_id(request.job_id, index)).fetch_history()
        lengths[f"slice-{index}"] = len(history.events)
    print(f"\n10,000 pages in {elapsed:.1f}s; events: {lengths}")
    assert len(lengths) == 21
    assert max(lengths.values()) < HISTORY_WARNING, lengths
    # Measured: about 4.3 events a page (a 500-page slice ~2,160 events), about 10 a slice in
    # the job (~200). A slice's history grows with its pages only, the job's with its slices only.
    assert max(lengths.values()) < 5_000, lengths
    assert lengths["job"] < 300, lengths


async def test_no_more_pages_than_max_in_flight_are_fetched_at_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockPoller(pages=40, fetch_seconds=0.05)
    summary = await _run(time_env, task_queue, mocks, _request(slice_pages=15, max_in_flight=3))
    assert summary.status == "COMPLETED"
    assert sorted(mocks.fetches) == list(range(1, 41))
    assert mocks.max_in_flight == 3  # reached (the pages do run in parallel), never exceeded


# ----- failed pages -----------------------------------------------------------------


async def test_an_operators_skip_of_a_parked_page_fails_its_task_and_the_job_completes(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockPoller(pages=6, unavailable={4})
    request = _request(slice_pages=3, max_in_flight=2)
    decided = await _decide_parked_page(time_env, task_queue, mocks, request, page=4, action="skip")
    assert isinstance(decided.result, JobSummary), decided.result
    assert decided.result.status == "COMPLETED_WITH_FAILURES"
    assert [f["page"] for f in decided.result.failures] == ["4"]
    [failed] = mocks.failed_tasks
    assert (failed.job_id, failed.partner, failed.url, failed.page) == (request.job_id, PARTNER, URL, 4)
    assert "skip" in failed.reason
    assert mocks.attempts(4) == 5  # a skip does not fetch it again
    assert sorted(mocks.enqueued) == [1, 2, 3, 5, 6]
    assert [(a.step, a.action, a.operator, a.outcome) for a in mocks.audits] == [
        ("fetch:4", "skip", OPERATOR, "accepted")
    ]
    [notice] = mocks.notices
    assert notice.key.startswith(f"attention:{slice_workflow_id(request.job_id, 1)}:")
    assert notice.key.endswith(":fetch:4#1:notice")
    fetch, fail = decided.slice_steps["fetch:4"], decided.slice_steps["fail:4"]
    assert (fetch.status, fetch.decided_by, fetch.runs, fetch.attempts) == ("skipped", OPERATOR, 1, 5)
    assert fail.status == "succeeded"
    assert {name: step.status for name, step in decided.job_steps.items()} == {
        "prepare": "succeeded",
        "slice:0": "succeeded",
        "slice:1": "succeeded",
        "await-processing": "succeeded",
        "finish": "succeeded",
    }


async def test_a_retry_of_a_parked_page_fetches_it_again(time_env: WorkflowEnvironment, task_queue: str) -> None:
    mocks = MockPoller(pages=3, unavailable={2})
    request = _request(slice_pages=3, max_in_flight=3)
    async with catalog_worker(time_env, task_queue, mocks.activities()):
        handle = await _start(time_env, task_queue, request)
        slice_handle = time_env.client.get_workflow_handle(slice_workflow_id(request.job_id, 0))
        await wait_waiting(slice_handle, "fetch:2")
        mocks.unavailable.clear()  # the partner is back
        decision = StepDecision("fetch:2", "retry", operator=OPERATOR, reason="partner back")
        await slice_handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
        summary = await handle.result()
    assert summary.status == "COMPLETED"
    assert mocks.attempts(2) == 6 and sorted(mocks.enqueued) == [1, 2, 3]
    assert mocks.failed_tasks == []


async def test_a_parked_page_holds_no_slot(time_env: WorkflowEnvironment, task_queue: str) -> None:
    """One page at a time, and the first one parked: the others are still fetched while it waits."""
    mocks = MockPoller(pages=4, unavailable={1})
    request = _request(slice_pages=4, max_in_flight=1)
    async with catalog_worker(time_env, task_queue, mocks.activities()):
        handle = await _start(time_env, task_queue, request)
        slice_handle = time_env.client.get_workflow_handle(slice_workflow_id(request.job_id, 0))
        await wait_waiting(slice_handle, "fetch:1")
        for _ in range(100):
            if sorted(mocks.enqueued) == [2, 3, 4]:
                break
            await asyncio.sleep(0.05)
        assert sorted(mocks.enqueued) == [2, 3, 4]  # before any decision on page 1
        decision = StepDecision("fetch:1", "skip", operator=OPERATOR, reason="gone")
        await slice_handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
        summary = await handle.result()
    assert summary.status == "COMPLETED_WITH_FAILURES"
    assert [t.page for t in mocks.failed_tasks] == [1]
    assert mocks.max_in_flight == 1


async def test_a_refused_page_fails_its_task_with_the_refusal_and_the_job_completes(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockPoller(pages=6, refused={2})
    request = _request(slice_pages=4, max_in_flight=2)
    summary = await _run(time_env, task_queue, mocks, request)
    assert summary.status == "COMPLETED_WITH_FAILURES"
    [failed] = mocks.failed_tasks
    assert failed.page == 2
    assert failed.reason == f"{PARTNER_API_REFUSED}: {URL}pages/2 answered 404: no such page"
    assert mocks.attempts(2) == 1  # not retried, not parked
    assert mocks.notices == [] and mocks.audits == []
    assert sorted(mocks.enqueued) == [1, 3, 4, 5, 6]
    assert [f["page"] for f in summary.failures] == ["2"]


async def _abort_parked_page(env: WorkflowEnvironment, task_queue: str) -> tuple[Decided, MockPoller, JobRequest]:
    mocks = MockPoller(pages=9, unavailable={5})
    request = _request(slice_pages=3, max_in_flight=2)
    return await _decide_parked_page(env, task_queue, mocks, request, page=5, action="abort"), mocks, request


async def test_an_abort_of_a_parked_page_fails_the_job(time_env: WorkflowEnvironment, task_queue: str) -> None:
    decided, mocks, request = await _abort_parked_page(time_env, task_queue)
    error = _job_failure(decided.result)
    assert error.type == POLLER_JOB_FAILED and error.non_retryable
    aborted = f"{STEP_ABORTED}: step fetch:5 aborted by {OPERATOR}: the partner lost that page"
    assert error.message.startswith(f"poller job {request.job_id} of {PARTNER} failed at ")
    assert error.message.endswith(aborted)
    [recorded] = mocks.job_failures
    assert (recorded.job_id, recorded.partner, recorded.url) == (request.job_id, PARTNER, URL)
    assert recorded.reason.endswith(aborted)
    assert FINISH_JOB.name not in mocks.calls and FAIL_TASK.name not in mocks.calls
    assert not {7, 8, 9} & set(mocks.fetches)  # the next slice never started
    assert decided.slice_steps["fetch:5"].status == "aborted"
    steps = {name: step.status for name, step in decided.job_steps.items()}
    assert steps["slice:1"] == "aborted" and "slice:2" not in steps
    assert steps["record-failure"] == "succeeded"


async def test_an_aborted_job_names_the_slice_it_stopped_at(time_env: WorkflowEnvironment, task_queue: str) -> None:
    decided, mocks, _ = await _abort_parked_page(time_env, task_queue)
    error = _job_failure(decided.result)
    assert f"failed at slice:1: {STEP_ABORTED}" in error.message
    assert mocks.job_failures[0].reason.startswith(f"slice:1: {STEP_ABORTED}")


async def test_a_refused_url_fails_the_job_before_any_fetch(time_env: WorkflowEnvironment, task_queue: str) -> None:
    mocks = MockPoller(pages=5, url_refused=True)
    request = _request()
    async with catalog_worker(time_env, task_queue, mocks.activities()):
        handle = await _start(time_env, task_queue, request)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    error = _job_failure(failed.value)
    assert error.type == POLLER_JOB_FAILED and error.non_retryable
    assert f"failed at prepare: {URL_REFUSED}: {URL} is not a registered base URL" in error.message
    assert mocks.calls == [PREPARE_JOB.name, RECORD_JOB_FAILURE.name]
    assert mocks.fetches == [] and FETCH_PAGE.name not in mocks.calls
    [recorded] = mocks.job_failures
    assert recorded.reason.startswith(f"prepare: {URL_REFUSED}: ")
