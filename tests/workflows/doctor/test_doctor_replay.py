"""The recorded doctor histories replay on today's DoctorWorkflow (tests/histories/doctor_*.json).

A failure means a change to DoctorWorkflow is not compatible with executions that may be
running: guard it with ``workflow.patched`` rather than re-recording the history
(``python -m tests.histories.record_doctor`` writes them).

The probes run at once, so how their completions interleave differs from one recording to
the next: what is checked here is the first workflow task's six commands and the outcome.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.doctor.contracts import ACTIVITIES
from tests.histories.record_doctor import RECORDED_WORKFLOW_IDS
from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

HISTORY_DIR = Path(__file__).parents[2] / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("doctor_*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(RECORDED_WORKFLOW_IDS[path.stem], path.read_text())


def _events(stem: str) -> list[HistoryEvent]:
    return list(_history(HISTORY_DIR / f"{stem}.json").events)


def _of_type(stem: str, event_type: EventType.ValueType) -> list[HistoryEvent]:
    return [event for event in _events(stem) if event.event_type == event_type]


def test_every_doctor_scenario_has_a_recorded_history() -> None:
    assert [p.stem for p in HISTORIES] == ["doctor_all_healthy", "doctor_sqs_queue_missing"]
    assert set(RECORDED_WORKFLOW_IDS) == {p.stem for p in HISTORIES}


@pytest.mark.parametrize("stem", ["doctor_all_healthy", "doctor_sqs_queue_missing"])
def test_every_probe_is_scheduled_by_the_first_task_and_the_doctor_completes(stem: str) -> None:
    events = _events(stem)
    first = [event.event_type for event in events].index(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    commands = events[first + 1 : first + 1 + len(ACTIVITIES)]
    assert [event.activity_task_scheduled_event_attributes.activity_type.name for event in commands] == [
        probe.name for probe in ACTIVITIES
    ]
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


def test_the_missing_queue_fails_its_probe_once_and_not_the_doctor() -> None:
    assert _of_type("doctor_all_healthy", EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED) == []
    [failed] = _of_type("doctor_sqs_queue_missing", EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    failure = failed.activity_task_failed_event_attributes.failure
    assert failure.application_failure_info.type == "AwsNotFound"
    assert failure.application_failure_info.non_retryable
    attempts = [
        event.activity_task_started_event_attributes.attempt
        for event in _of_type("doctor_sqs_queue_missing", EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        if event.activity_task_started_event_attributes.scheduled_event_id
        == failed.activity_task_failed_event_attributes.scheduled_event_id
    ]
    assert attempts == [1]  # the first error is reported, not retried


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_doctor_history_replays(path: Path) -> None:
    history = await asyncio.to_thread(_history, path)
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
