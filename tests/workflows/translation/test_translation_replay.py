"""The recorded translation histories replay on today's workflow code (tests/histories/translation_*.json).

A failure means a change to TranslationProjectWorkflow or TranslationPairWorkflow is not
compatible with executions that may be running: guard it with ``workflow.patched`` rather
than re-recording the history (``python -m tests.histories.record_translation`` writes them).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.common.contracts import NOTIFY_ATTENTION
from activities.translation.contracts import (
    ACQUIRE_SLOT,
    AWAIT_JOB,
    DELIVER,
    IMPORT_TERMINOLOGY,
    NOTIFY_PAIR,
    POST_PROCESS,
    PREPARE_JOB,
    PREPROCESS,
    RECORD_PAIR,
    RELEASE_SLOT,
    SET_PROJECT_STATUS,
    START_JOB,
    VERIFY_PAIR,
)
from tests.histories.record_translation import RECORDED_WORKFLOW_IDS
from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

HISTORY_DIR = Path(__file__).parents[2] / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("translation_*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(RECORDED_WORKFLOW_IDS[path.stem], path.read_text())


def _events(stem: str) -> list[EventType.ValueType]:
    return [event.event_type for event in _history(HISTORY_DIR / f"{stem}.json").events]


def _scheduled(stem: str) -> list[str]:
    """Activity types scheduled on the task queue, in order."""
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in _history(HISTORY_DIR / f"{stem}.json").events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def _inputs(stem: str, activity: str) -> list[dict[str, object]]:
    """The (JSON) inputs of every scheduled ``activity``, in order."""
    return [
        json.loads(event.activity_task_scheduled_event_attributes.input.payloads[0].data)
        for event in _history(HISTORY_DIR / f"{stem}.json").events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == activity
    ]


def _children(stem: str) -> list[str]:
    return [
        event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for event in _history(HISTORY_DIR / f"{stem}.json").events
        if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


def test_every_translation_scenario_has_a_recorded_history() -> None:
    assert [p.stem for p in HISTORIES] == sorted(
        ["translation_project_delivered", "translation_project_sent_back", "translation_pair_resubmitted"]
    )
    assert set(RECORDED_WORKFLOW_IDS) == {p.stem for p in HISTORIES}


def test_the_recorded_histories_hold_what_they_are_named_for() -> None:
    delivered = _events("translation_project_delivered")
    project = RECORDED_WORKFLOW_IDS["translation_project_delivered"]
    assert _children("translation_project_delivered") == [f"{project}-en-es", f"{project}-en-fr"]
    assert delivered.count(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == 2
    assert delivered.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1  # approved at review
    assert _scheduled("translation_project_delivered") == [
        PREPROCESS.name,
        SET_PROJECT_STATUS.name,  # IN_REVIEW
        NOTIFY_ATTENTION.name,  # the translators' review notice
        DELIVER.name,
        SET_PROJECT_STATUS.name,  # DELIVERED
    ]
    assert delivered[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    sent_back = _events("translation_project_sent_back")
    assert len(_children("translation_project_sent_back")) == 2
    assert sent_back.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 2  # review, review-2
    assert _scheduled("translation_project_sent_back") == [
        PREPROCESS.name,
        SET_PROJECT_STATUS.name,  # IN_REVIEW
        NOTIFY_ATTENTION.name,  # review
        SET_PROJECT_STATUS.name,  # CHANGES_REQUESTED
        NOTIFY_ATTENTION.name,  # review-2
        DELIVER.name,
        SET_PROJECT_STATUS.name,  # DELIVERED
    ]
    assert sent_back[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    job = [PREPARE_JOB.name, RECORD_PAIR.name, ACQUIRE_SLOT.name, START_JOB.name, RECORD_PAIR.name, AWAIT_JOB.name]
    job += [RELEASE_SLOT.name, POST_PROCESS.name]
    assert _scheduled("translation_pair_resubmitted") == [
        IMPORT_TERMINOLOGY.name,
        *job,  # the first job dropped segments
        *job,  # -r1: the incomplete file alone, completed
        RECORD_PAIR.name,  # STAGED
        NOTIFY_PAIR.name,
    ]
    assert VERIFY_PAIR.name not in _scheduled("translation_pair_resubmitted")
    first, again = _inputs("translation_pair_resubmitted", PREPARE_JOB.name)
    assert (first["round"], first["files"]) == (0, ["guide.xlf", "ui.xlf"])
    assert (again["round"], again["files"]) == (1, ["guide.xlf"])  # only the file with segments missing
    assert _events("translation_pair_resubmitted")[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_translation_history_replays(path: Path) -> None:
    history = await asyncio.to_thread(_history, path)
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
