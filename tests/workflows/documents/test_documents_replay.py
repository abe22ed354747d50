"""The recorded shipment histories replay on today's ShipmentWorkflow (tests/histories/shipment_*.json).

A failure means a change to ShipmentWorkflow is not compatible with executions that may be
running: guard it with ``workflow.patched`` rather than re-recording the history
(``python -m tests.histories.record_documents`` writes them).

The documents of a shipment are processed at once, so how their events interleave differs
from one recording to the next: what is checked here is each document's own sequence.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.common.contracts import NOTIFY_ATTENTION, RECORD_DECISION
from activities.documents.contracts import (
    AWAIT_ANALYSIS,
    CHECK_FIELDS,
    CONSOLIDATE,
    DETECT_ENTITIES,
    RECORD_ARRIVAL,
    RECORD_REVIEW,
    REJECT_DOCUMENT,
    SCREEN_DOCUMENT,
    START_ANALYSIS,
)
from tests.histories.record_documents import RECORDED_WORKFLOW_IDS
from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

HISTORY_DIR = Path(__file__).parents[2] / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("shipment_*.json"))

PIPELINE = [SCREEN_DOCUMENT.name, START_ANALYSIS.name, AWAIT_ANALYSIS.name, DETECT_ENTITIES.name, CHECK_FIELDS.name]
"""One document's steps from its screen to its fields checked."""
DOCUMENT = [RECORD_ARRIVAL.name, *PIPELINE]
"""A document taken, then processed."""


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(RECORDED_WORKFLOW_IDS[path.stem], path.read_text())


def _all(stem: str) -> list[HistoryEvent]:
    return list(_history(HISTORY_DIR / f"{stem}.json").events)


def _events(stem: str) -> list[EventType.ValueType]:
    return [event.event_type for event in _all(stem)]


def _input(event: HistoryEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.activity_task_scheduled_event_attributes.input.payloads[0].data)
    return data


def _doc_type(data: dict[str, Any]) -> str:
    """The document type an activity's input is for ("" for the shipment's own steps)."""
    return str(data.get("doc_type") or data.get("arrival", {}).get("doc_type", ""))


def _scheduled(stem: str, doc_type: str | None = None) -> list[str]:
    """Activity types scheduled on the task queue (for one document type, "" for none), in order."""
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in _all(stem)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and (doc_type is None or _doc_type(_input(event)) == doc_type)
    ]


def _inputs(stem: str, activity: str) -> list[dict[str, Any]]:
    """The (JSON) inputs of every scheduled ``activity``, in order."""
    return [
        _input(event)
        for event in _all(stem)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == activity
    ]


def _local_activities(stem: str) -> list[str]:
    """Activity types of the local activities recorded (markers), in order."""
    return [
        json.loads(event.marker_recorded_event_attributes.details["data"].payloads[0].data)["activity_type"]
        for event in _all(stem)
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]


def test_every_shipment_scenario_has_a_recorded_history() -> None:
    assert [p.stem for p in HISTORIES] == sorted(
        [
            "shipment_reviewed_and_consolidated",
            "shipment_document_rejected_then_replaced",
            "shipment_waited_reminded_escalated",
            "shipment_extraction_parked_and_retried",
        ]
    )
    assert set(RECORDED_WORKFLOW_IDS) == {p.stem for p in HISTORIES}


def test_the_recorded_histories_hold_what_they_are_named_for() -> None:
    for path in HISTORIES:
        assert _events(path.stem)[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, path.stem

    reviewed = "shipment_reviewed_and_consolidated"
    assert _scheduled(reviewed, "invoice") == [*DOCUMENT, RECORD_REVIEW.name]
    assert _scheduled(reviewed, "customs") == DOCUMENT
    assert _scheduled(reviewed, "") == [NOTIFY_ATTENTION.name, CONSOLIDATE.name]  # the review notice
    assert _events(reviewed).count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1
    assert _local_activities(reviewed) == [RECORD_DECISION.name]
    [review] = _inputs(reviewed, RECORD_REVIEW.name)
    assert (review["etag"], review["answers"]) == ("etag-inv", {"billing_company": "Northwind Traders Ltd"})
    [consolidated] = _inputs(reviewed, CONSOLIDATE.name)
    assert consolidated["documents"] == {"invoice": "etag-inv", "customs": "etag-cus"}

    rejected = "shipment_document_rejected_then_replaced"
    assert _scheduled(rejected, "invoice") == [*DOCUMENT, REJECT_DOCUMENT.name, *DOCUMENT]  # then the replacement
    assert _scheduled(rejected, "customs") == DOCUMENT  # not processed again
    assert _scheduled(rejected, "") == [NOTIFY_ATTENTION.name, CONSOLIDATE.name]
    assert RECORD_REVIEW.name not in _scheduled(rejected)
    assert [a["arrival"]["etag"] for a in _inputs(rejected, RECORD_ARRIVAL.name) if _doc_type(a) == "invoice"] == [
        "etag-inv",
        "etag-inv-2",
    ]
    [rejection] = _inputs(rejected, REJECT_DOCUMENT.name)
    assert (rejection["etag"], rejection["operator"]) == ("etag-inv", "reviewer-rita")
    [consolidated] = _inputs(rejected, CONSOLIDATE.name)
    assert consolidated["documents"] == {"invoice": "etag-inv-2", "customs": "etag-cus"}

    waited = "shipment_waited_reminded_escalated"
    # The invoice is taken, collect reminds and escalates, then the customs form arrives.
    assert _scheduled(waited)[:4] == [
        RECORD_ARRIVAL.name,
        NOTIFY_ATTENTION.name,
        NOTIFY_ATTENTION.name,
        RECORD_ARRIVAL.name,
    ]
    assert [n["audience"] for n in _inputs(waited, NOTIFY_ATTENTION.name)] == ["reviewers", "operators"]
    assert _events(waited).count(EventType.EVENT_TYPE_TIMER_FIRED) == 2
    assert _events(waited).count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 0
    assert _scheduled(waited, "invoice") == DOCUMENT
    assert _scheduled(waited, "customs") == DOCUMENT

    parked = "shipment_extraction_parked_and_retried"
    failed = [
        event.activity_task_failed_event_attributes
        for event in _all(parked)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert [f.retry_state for f in failed] == [RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED] * 2
    assert all("ProvisionedThroughputExceededException" in f.failure.message for f in failed)
    for doc_type in ("invoice", "customs"):  # the analysis parked, then started again by the retry
        assert _scheduled(parked, doc_type) == [*DOCUMENT[:3], *DOCUMENT[2:]]
    assert [n["audience"] for n in _inputs(parked, NOTIFY_ATTENTION.name)] == ["operators", "operators"]
    assert _events(parked).count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 2
    assert _local_activities(parked) == [RECORD_DECISION.name] * 2


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_shipment_history_replays(path: Path) -> None:
    history = await asyncio.to_thread(_history, path)
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
