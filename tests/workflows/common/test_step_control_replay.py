"""The recorded step-control history replays on today's step control (tests/histories/step_control_*.json).

It holds a parked step retried by an operator and an approved gate, with each decision's audit
written the current way; a failure means a change to step control is not compatible with
executions that may be running: guard it with ``workflow.patched``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.runner import TEST_RUNNER
from tests.workflows.common.step_probe import ProbeChildWorkflow, StepProbeWorkflow

HISTORIES = sorted((Path(__file__).parents[2] / "histories").glob("step_control_*.json"))


def test_a_history_with_decisions_is_recorded() -> None:
    assert [p.stem for p in HISTORIES] == ["step_control_parked_retried_and_gate_approved"]
    history = WorkflowHistory.from_json("recorded", HISTORIES[0].read_text())
    kinds = [event.event_type for event in history.events]
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 2
    # The audits ran as local activities (markers), not as scheduled activities.
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert "step_control_record_decision" not in scheduled
    assert kinds.count(EventType.EVENT_TYPE_MARKER_RECORDED) >= 2


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_step_control_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(
        workflows=[StepProbeWorkflow, ProbeChildWorkflow], workflow_runner=TEST_RUNNER
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
