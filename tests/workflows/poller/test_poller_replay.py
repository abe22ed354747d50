"""The recorded poller histories replay on today's workflow code (tests/histories/poller_*.json).

A failure means a change to PollerJobWorkflow, PollerSliceWorkflow or PollerRetentionWorkflow
is not compatible with executions that may be running: guard it with ``workflow.patched``
rather than re-recording the history (``python -m tests.histories.record_poller`` writes them).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.histories.record_poller import RECORDED_WORKFLOW_IDS
from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

HISTORY_DIR = Path(__file__).parents[2] / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("poller_*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(RECORDED_WORKFLOW_IDS[path.stem], path.read_text())


def _events(stem: str) -> list[EventType.ValueType]:
    return [event.event_type for event in _history(HISTORY_DIR / f"{stem}.json").events]


def _scheduled(stem: str) -> list[str]:
    """Activity types scheduled on the task queue, in order (local activities are markers)."""
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in _history(HISTORY_DIR / f"{stem}.json").events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def test_every_poller_scenario_has_a_recorded_history() -> None:
    assert [p.stem for p in HISTORIES] == sorted(
        ["poller_job_completed", "poller_slice_page_skipped", "poller_job_url_refused", "poller_retention_purged"]
    )
    assert set(RECORDED_WORKFLOW_IDS) == {p.stem for p in HISTORIES}


def test_the_recorded_histories_hold_what_they_are_named_for() -> None:
    completed = _events("poller_job_completed")
    assert completed.count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 3  # 7 pages, 3 a slice
    assert completed[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    skipped = _events("poller_slice_page_skipped")
    assert skipped.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1
    assert skipped[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert _scheduled("poller_slice_page_skipped").count("poller_fail_task") == 1

    refused = _events("poller_job_url_refused")
    assert refused[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    assert _scheduled("poller_job_url_refused") == ["poller_prepare_job", "poller_record_job_failure"]

    purged = _events("poller_retention_purged")
    assert purged[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert _scheduled("poller_retention_purged") == ["poller_purge_tasks"]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_poller_history_replays(path: Path) -> None:
    history = await asyncio.to_thread(_history, path)
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
