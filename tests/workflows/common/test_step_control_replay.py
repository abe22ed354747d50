"""The recorded step-control history replays on today's step control (tests/histories/step_control_*.json).

Each holds a parked step retried by an operator and an approved gate: one with each decision's
audit written the current way (scheduled beside the step it wakes), one the earlier way (a local
activity before the step woke); a failure means a change to step control is not compatible with
executions that may be running: guard it with ``workflow.patched``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.runner import TEST_RUNNER
from tests.workflows.common.step_probe import ProbeChildWorkflow, StepProbeWorkflow

HISTORIES_DIR = Path(__file__).parents[2] / "histories"
HISTORIES = sorted(HISTORIES_DIR.glob("step_control_*.json"))
CURRENT = "step_control_parked_retried_and_gate_approved"


def _events(name: str) -> list[HistoryEvent]:
    return list(WorkflowHistory.from_json(name, (HISTORIES_DIR / f"{name}.json").read_text()).events)


def _scheduled(event: HistoryEvent) -> str | None:
    if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return None
    return event.activity_task_scheduled_event_attributes.activity_type.name


def test_histories_with_decisions_are_recorded_both_ways() -> None:
    assert [p.stem for p in HISTORIES] == [CURRENT, f"{CURRENT}_local_audit"]
    # Before: each audit a local activity (a marker), nothing scheduled for it.
    earlier = _events(f"{CURRENT}_local_audit")
    assert [e.event_type for e in earlier].count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 2
    assert "step_control_record_decision" not in [_scheduled(e) for e in earlier]
    assert [e.event_type for e in earlier].count(EventType.EVENT_TYPE_MARKER_RECORDED) >= 2


def test_an_accepted_decision_schedules_its_audit_with_the_step_it_wakes() -> None:
    events = _events(CURRENT)
    for accepted in (e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED):
        # The commands of the workflow task that accepted the update, in order.
        task = accepted.workflow_execution_update_accepted_event_attributes
        after = [e for e in events if e.event_id > accepted.event_id]
        end = next(
            (i for i, e in enumerate(after) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), len(after)
        )
        scheduled = [
            (_scheduled(e), e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id)
            for e in after[:end]
            if _scheduled(e)
        ]
        names = [name for name, _ in scheduled]
        # The audit first, then the woken step's activity, both from the one task.
        assert names[0] == "step_control_record_decision", (task.accepted_request.input, names)
        assert len(names) == 2 and names[1] in ("step_probe", "step_probe_cleanup"), names
        assert scheduled[0][1] == scheduled[1][1]
        # The update completes only after the audit activity has.
        audit_id = next(e.event_id for e in after if _scheduled(e) == "step_control_record_decision")
        completed = next(
            e.event_id
            for e in after
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            and e.activity_task_completed_event_attributes.scheduled_event_id == audit_id
        )
        update_done = next(
            e.event_id for e in after if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
        )
        assert completed < update_done


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_step_control_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(
        workflows=[StepProbeWorkflow, ProbeChildWorkflow], workflow_runner=TEST_RUNNER
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
