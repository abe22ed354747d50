"""TranslationProjectWorkflow and its pairs on the time-skipping server, with name-matched mock activities.

The bucket, Amazon Translate, the job slots and the rows are played by :class:`MockTranslation`;
what is tested here is the workflows' own logic: how long a project collects its files, what
a project without a pair does, what a failed job and dropped segments do to a pair and its
project, and how the review gate chases its translators.

A park or a gate is waited for with time skipping locked (``wait_waiting`` polls the query;
only ``handle.result()`` unlocks it), so the waits before it run in real time: the requests'
settle and poll intervals are short. Hours of an unanswered review are skipped explicitly
(``time_env.sleep``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import (
    DECIDE_UPDATE,
    AttentionPolicy,
    DecisionOutcome,
    StepDecision,
)
from activities.translation.contracts import (
    ACQUIRE_SLOT,
    JOB_FAILED,
    NOTHING_TO_TRANSLATE,
    PREPARE_JOB,
    PREPROCESS,
    PROJECT_FAILED,
    SEGMENTS_MISSING,
    VERIFY_PAIR,
    FileArrived,
    PairRequest,
    PairResult,
    ProjectProgress,
    ProjectRequest,
    ProjectResult,
    project_workflow_id,
)
from tests.support.runner import TEST_RUNNER
from tests.support.step_control import step_status, wait_waiting
from tests.support.waiting import eventually
from tests.workflows.translation.mocks import FILES, MISSING_PER_FILE, SEGMENTS_PER_FILE, MockTranslation
from workflows.catalog import WORKFLOWS
from workflows.translation.pair import TranslationPairWorkflow
from workflows.translation.project import FILE_ARRIVED_SIGNAL, PROGRESS_QUERY, TranslationProjectWorkflow

CUSTOMER = "acme"
OPERATOR = "ops-anna"
REVIEWER = "translator-lena"
HOUR = 3600.0

ProjectHandle = WorkflowHandle[Any, ProjectResult]


def _request(**changes: Any) -> ProjectRequest:
    request = ProjectRequest(
        CUSTOMER,
        f"launch-{uuid.uuid4().hex[:12]}",
        "stepwise-translation",
        "stepwise-translation-staging",
        "arn:aws:iam::123456789012:role/stepwise-translate",
        settle_seconds=0.2,
        poll_seconds=0.2,
    )
    return replace(request, **changes)


@asynccontextmanager
async def _worker(env: WorkflowEnvironment, task_queue: str, mocks: MockTranslation) -> AsyncIterator[Worker]:
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=mocks.activities(),
        workflow_runner=TEST_RUNNER,
    ) as worker:
        yield worker


async def _start(env: WorkflowEnvironment, task_queue: str, request: ProjectRequest, **options: Any) -> ProjectHandle:
    return await env.client.start_workflow(
        TranslationProjectWorkflow.run,
        request,
        id=project_workflow_id(request.customer, request.project),
        task_queue=task_queue,
        **options,
    )


async def _decide(handle: WorkflowHandle[Any, Any], step: str, action: str, operator: str, reason: str) -> None:
    outcome = await handle.execute_update(
        DECIDE_UPDATE, StepDecision(step, action, operator=operator, reason=reason), result_type=DecisionOutcome
    )
    assert (outcome.step, outcome.action, outcome.duplicate) == (step, action, False)


async def _progress(handle: ProjectHandle) -> ProjectProgress:
    progress: ProjectProgress = await handle.query(PROGRESS_QUERY, result_type=ProjectProgress)
    return progress


async def _eventually_arrived(handle: ProjectHandle, files: int) -> None:
    """Wait until the workflow has taken ``files`` arrivals in (a signal is handled in a task)."""
    deadline = asyncio.get_running_loop().time() + 10
    while (progress := await _progress(handle)).files_arrived < files:
        assert asyncio.get_running_loop().time() < deadline, progress
        await asyncio.sleep(0.05)
    assert progress.status == "COLLECTING"


def _failure(error: BaseException) -> ApplicationError:
    assert isinstance(error, WorkflowFailureError), error
    assert isinstance(error.cause, ApplicationError), error.cause
    return error.cause


async def test_an_unanswered_review_is_reminded_to_the_translators_then_escalated_to_the_operators(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    attention = AttentionPolicy(remind_after_seconds=4 * HOUR, escalate_after_seconds=24 * HOUR)
    mocks = MockTranslation(slot_waits=2)
    request = _request(review_attention=attention)
    pid = f"{CUSTOMER}-{request.project}"
    async with _worker(time_env, task_queue, mocks):
        handle = await _start(time_env, task_queue, request)
        await wait_waiting(handle, "review")
        assert [n.key.rsplit(":", 1)[1] for n in mocks.notices] == ["notice"]
        await time_env.sleep(timedelta(hours=25))  # nobody answers for a day
        await eventually(lambda: len(mocks.notices) == 3)
        await _decide(handle, "review", "approve", REVIEWER, "looks right")
        result = await handle.result()

    subject = f"[stepwise] translation {pid}: review requested (round 1)"
    assert [(n.key.rsplit(":", 1)[1], n.audience, n.subject) for n in mocks.notices] == [
        ("notice", "translators", subject),
        ("remind", "translators", f"Reminder: {subject}"),
        ("escalate", "operators", f"Escalated: {subject}"),
    ]
    assert f"Decide with: stepwise decide translation-{pid} review approve|reject" in mocks.notices[0].body
    assert "en-es: 24 segments, 24 flagged" in mocks.notices[0].body
    assert mocks.notices[2].body == "no decision on review after 86400s"
    assert (result.status, result.reviewed_by, [p.target_language for p in result.pairs]) == (
        "DELIVERED",
        REVIEWER,
        ["es", "fr"],
    )
    assert mocks.attempts[(ACQUIRE_SLOT.name, "en-es")] == 3  # every slot taken twice, then one freed
    assert mocks.slots == set()  # both given back
    assert [(s.status, s.operator) for s in mocks.statuses] == [("IN_REVIEW", ""), ("DELIVERED", REVIEWER)]
    assert [(a.step, a.action, a.operator) for a in mocks.audits] == [("review", "approve", REVIEWER)]


@dataclass
class Aborted:
    """How a project ended after an operator aborted its parked pair en-es (whose job failed)."""

    error: ApplicationError
    progress: ProjectProgress
    mocks: MockTranslation


async def _abort_failed_pair(env: WorkflowEnvironment, task_queue: str) -> Aborted:
    """Run a project whose en-es job fails; check the parent parks on the pair; abort it there."""
    mocks = MockTranslation(failed_jobs={"en-es"})
    async with _worker(env, task_queue, mocks):
        handle = await _start(env, task_queue, _request())
        parked = await wait_waiting(handle, "pair:en-es")
        assert parked.kind == "child" and parked.allowed_actions == ["retry", "skip", "abort"]
        assert parked.last_error_type == JOB_FAILED
        assert "ended FAILED: The input data could not be read" in parked.last_error
        assert (await _progress(handle)).status == "TRANSLATING"
        # The sibling pair goes on while en-es waits (it may still be finishing when en-es parks).
        for _ in range(100):
            steps = {step.name: step.status for step in (await step_status(handle)).steps}
            if steps["pair:en-fr"] != "running":
                break
            await asyncio.sleep(0.1)
        assert steps["pair:en-fr"] == "succeeded"
        await _decide(handle, "pair:en-es", "abort", OPERATOR, "the customer's role is broken")
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        return Aborted(_failure(failed.value), await _progress(handle), mocks)


ABORTED = f"step pair:en-es aborted by {OPERATOR}: the customer's role is broken"


async def test_a_failed_job_fails_its_pair_and_an_abort_of_the_parked_pair_fails_the_project(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    aborted = await _abort_failed_pair(time_env, task_queue)
    error, mocks = aborted.error, aborted.mocks
    assert error.type == PROJECT_FAILED and error.non_retryable
    assert error.message.endswith(ABORTED)
    [pair_failed] = [r for r in mocks.records if r.state == "FAILED"]
    assert pair_failed.plan.target_language == "es" and "ended FAILED" in (pair_failed.reason or "")
    assert mocks.slots == set()  # the failed job's slot given back too
    [status] = mocks.statuses  # no review opened: only the failure recorded
    assert (status.status, status.reason) == ("FAILED", aborted.progress.reason)
    assert aborted.progress.status == "FAILED"
    assert status.reason is not None and status.reason.endswith(ABORTED)


async def test_a_project_aborted_at_a_pair_names_the_pair_it_stopped_at(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    aborted = await _abort_failed_pair(time_env, task_queue)
    assert f"failed at pair:en-es: {ABORTED}" in aborted.error.message
    assert aborted.progress.reason == f"pair:en-es: {ABORTED}"


async def test_segments_still_missing_after_the_resubmission_park_verify_and_a_skip_stages_them_missing(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockTranslation(pairs=[("en", "es")], incomplete={"en-es": 2})
    request = _request()
    pair_id = f"{project_workflow_id(request.customer, request.project)}-en-es"
    async with _worker(time_env, task_queue, mocks):
        handle = await time_env.client.start_workflow(
            TranslationPairWorkflow.run, PairRequest(request, mocks.plan("en", "es")), id=pair_id, task_queue=task_queue
        )
        parked = await wait_waiting(handle, "verify")
        assert (parked.last_error_type, parked.allowed_actions) == (SEGMENTS_MISSING, ["retry", "skip", "abort"])
        await _decide(handle, "verify", "skip", REVIEWER, "the translators fill them in review")
        result: PairResult = await handle.result()

    assert (result.segments, result.missing) == (SEGMENTS_PER_FILE * len(FILES), MISSING_PER_FILE)
    assert len(result.jobs) == 2 and result.jobs[0] != result.jobs[1]
    first, again = mocks.called(PREPARE_JOB.name)
    assert (first.round, first.files, again.round, again.files) == (0, FILES, 1, FILES[:1])
    assert mocks.attempts[(VERIFY_PAIR.name, "en-es")] == 1  # not retried: parked at once
    [staged] = [r for r in mocks.records if r.state == "STAGED"]
    assert (staged.missing, staged.jobs) == (MISSING_PER_FILE, result.jobs)
    [notice] = mocks.pair_notices
    assert notice.result == result


async def test_a_project_whose_every_file_is_quarantined_fails_as_nothing_to_translate_without_a_pair(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockTranslation(pairs=[])
    request = _request()
    async with _worker(time_env, task_queue, mocks):
        handle = await _start(time_env, task_queue, request)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        progress = await _progress(handle)
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == NOTHING_TO_TRANSLATE  # failed, so the customer may submit it again
    reason = f"all {len(FILES)} files were refused into quarantine; nothing to translate"
    assert (progress.status, progress.reason) == ("REFUSED", reason)
    assert mocks.names() == [PREPROCESS.name]
    assert not [s for s in mocks.statuses if s.status == "FAILED"]  # the row stays REFUSED, as preprocessing left it
    history = await handle.fetch_history()
    kinds = [event.event_type for event in history.events]
    assert EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED not in kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED


async def test_files_arriving_keep_delaying_preprocessing_until_none_came_for_settle_seconds(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockTranslation(pairs=[])  # ends at preprocessing: what is tested is when it starts
    request = _request(settle_seconds=60)
    folder = f"translation-inbound/{CUSTOMER}/{request.project}/"
    async with _worker(time_env, task_queue, mocks):
        # As the intake starts a project: with the first file's arrival.
        handle = await _start(
            time_env,
            task_queue,
            request,
            start_signal=FILE_ARRIVED_SIGNAL,
            start_signal_args=[FileArrived(folder + "guide.xlf")],
        )
        for arrived, name in enumerate(["ui.xlf", "help.xlf", "terminology/glossary.csv"], start=1):
            await _eventually_arrived(handle, arrived)
            await time_env.sleep(timedelta(seconds=45))  # less than settle_seconds since the last file
            assert mocks.calls == [], f"read after {arrived} file(s) and 45s"
            await handle.signal(FILE_ARRIVED_SIGNAL, FileArrived(folder + name))
        await _eventually_arrived(handle, 4)
        with pytest.raises(WorkflowFailureError):
            await handle.result()  # the mocks refuse every file

    assert mocks.names() == [PREPROCESS.name]
    events = (await handle.fetch_history()).events
    signals = [
        e.event_time.ToDatetime() for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    [read] = [
        e.event_time.ToDatetime()
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == PREPROCESS.name
    ]
    started = events[0].event_time.ToDatetime()
    assert len(signals) == 4
    assert (read - started).total_seconds() >= 3 * 45 + 60  # three 45s gaps, then the settle
    assert 60 <= (read - signals[-1]).total_seconds() < 61
