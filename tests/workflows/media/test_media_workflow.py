"""MediaWorkflow's logic on the time-skipping server, with name-matched mock activities.

The time-skipping server skips the poll activity's retry backoff, so the real 20-second
interval is used: a job that is ready after 1,800 polls is a ten-hour transcription.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.media.contracts import MediaJobRequest, MediaJobResult, MediaProgress
from activities.media.keys import media_workflow_id
from tests.workflows.media.mocks import MockMediaActivities
from workflows.media.workflow import MediaWorkflow

HOUR = 3600.0


def _request(**overrides: object) -> MediaJobRequest:
    fields: dict[str, object] = {
        "job_id": f"wf-{uuid.uuid4().hex[:12]}",
        "media_uri": "s3://stepwise-media/demo/realtime-b2b.wav",
        "language_code": "en-US",
        "target_languages": ["es", "fr"],
        "poll_interval_seconds": 20.0,
        "max_wait_seconds": 11 * HOUR,
    }
    fields.update(overrides)
    return MediaJobRequest(**fields)  # type: ignore[arg-type]


@dataclass
class Outcome:
    """How a run ended, its handle, and the progress query's last answer."""

    result: MediaJobResult | WorkflowFailureError
    handle: WorkflowHandle[MediaWorkflow, MediaJobResult]
    progress: MediaProgress


async def _run(
    env: WorkflowEnvironment, task_queue: str, mocks: MockMediaActivities, request: MediaJobRequest
) -> Outcome:
    async with Worker(env.client, task_queue=task_queue, workflows=[MediaWorkflow], activities=mocks.activities()):
        handle = await env.client.start_workflow(
            MediaWorkflow.run, request, id=media_workflow_id(request.job_id), task_queue=task_queue
        )
        result: MediaJobResult | WorkflowFailureError
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            result = failure
        return Outcome(result, handle, await handle.query(MediaWorkflow.progress))


async def _events(handle: WorkflowHandle[MediaWorkflow, MediaJobResult]) -> list[object]:
    return list((await handle.fetch_history()).events)


def _poll_attempts(events: list[object]) -> list[int]:
    return [
        e.activity_task_started_event_attributes.attempt  # type: ignore[attr-defined]
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED  # type: ignore[attr-defined]
    ]


def _failure(result: object) -> ApplicationError:
    assert isinstance(result, WorkflowFailureError), result
    assert isinstance(result.cause, ApplicationError)
    return result.cause


async def test_history_length_is_the_same_after_3_polls_and_after_1800_polls(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    short = await _run(time_env, task_queue, MockMediaActivities(polls=3), _request())
    long = await _run(time_env, task_queue, MockMediaActivities(polls=1800), _request())
    assert isinstance(short.result, MediaJobResult) and short.result.polls == 3
    assert isinstance(long.result, MediaJobResult) and long.result.polls == 1800  # ten hours at the 20 s interval
    short_events, long_events = await _events(short.handle), await _events(long.handle)
    assert max(_poll_attempts(long_events)) == 1800
    assert abs(len(short_events) - len(long_events)) <= 2
    assert len(short_events) < 40 and len(long_events) < 40


async def test_a_failed_transcription_fails_the_job_with_transcribes_reason_at_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockMediaActivities(polls=3, transcription_failure="Unsupported audio format.")
    outcome = await _run(time_env, task_queue, mocks, _request(max_wait_seconds=6 * HOUR))
    error = _failure(outcome.result)
    assert error.type == "TranscriptionFailed"
    assert "FAILED: Unsupported audio format." in error.message
    events = await _events(outcome.handle)
    elapsed = events[-1].event_time.ToDatetime() - events[0].event_time.ToDatetime()  # type: ignore[attr-defined]
    assert elapsed < timedelta(minutes=5)  # three polls, not the six-hour maximum
    assert "translate_transcript" not in mocks.calls
    [recorded] = mocks.recorded_failures
    assert (recorded.failed_step, recorded.error_type) == ("wait_for_transcript", "TranscriptionFailed")
    assert outcome.progress.completed_steps == ["copy_media", "start_transcription"]


async def test_exceeding_the_maximum_wait_is_a_clear_timeout(time_env: WorkflowEnvironment, task_queue: str) -> None:
    mocks = MockMediaActivities(polls=0)
    outcome = await _run(time_env, task_queue, mocks, _request(max_wait_seconds=300.0))
    error = _failure(outcome.result)
    assert error.type == "TranscriptionTimedOut"
    assert error.message.endswith("did not complete within the maximum wait of 0:05:00")
    assert mocks.recorded_failures[0].error_type == "TranscriptionTimedOut"
    assert (outcome.progress.status, outcome.progress.failed_step) == ("FAILED", "wait_for_transcript")


async def test_an_invalid_request_is_rejected_and_recorded_before_any_step(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockMediaActivities()
    outcome = await _run(time_env, task_queue, mocks, _request(media_uri="https://example.com/talk.wav"))
    error = _failure(outcome.result)
    assert error.type == "InvalidMediaRequest" and "expected s3://bucket/key" in error.message
    assert mocks.calls == ["record_media_failure"]


@pytest.mark.parametrize("step", ["copy_media", "translate_transcript", "post_process_media"])
async def test_a_failing_step_is_recorded_with_its_error(
    time_env: WorkflowEnvironment, task_queue: str, step: str
) -> None:
    failure = ApplicationError("access denied", type="AwsAccessDenied", non_retryable=True)
    mocks = MockMediaActivities(failures={step: failure})
    outcome = await _run(time_env, task_queue, mocks, _request())
    assert _failure(outcome.result).type == "AwsAccessDenied"
    assert mocks.recorded_failures[0].error_type == "AwsAccessDenied"
    assert mocks.calls[-1] == "record_media_failure"
