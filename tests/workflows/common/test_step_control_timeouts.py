"""Attention timeouts on the time-skipping server: remind -> escalate -> default action.

Pure workflow logic: the audit and notice activities are name-matched recorders.
"""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import (
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    AttentionNotice,
    AttentionPolicy,
    DecisionAudit,
    NoticeSent,
)
from tests.support.mocks import mock_activity
from tests.workflows.common.step_probe import (
    ProbeActivities,
    ProbeChildWorkflow,
    ProbeInput,
    ProbeResult,
    StepProbeWorkflow,
)

HOUR = 3600.0


class Recorder:
    def __init__(self) -> None:
        self.notices: list[AttentionNotice] = []
        self.audits: list[DecisionAudit] = []

    @mock_activity(NOTIFY_ATTENTION)
    async def notify(self, notice: AttentionNotice) -> NoticeSent:
        self.notices.append(notice)
        return NoticeSent(message_id=f"m-{len(self.notices)}", duplicate=False)

    @mock_activity(RECORD_DECISION)
    async def record(self, audit: DecisionAudit) -> None:
        self.audits.append(audit)


async def _run(
    time_env: WorkflowEnvironment, request: ProbeInput, probe: ProbeActivities
) -> tuple[ProbeResult, Recorder]:
    recorder = Recorder()
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[StepProbeWorkflow, ProbeChildWorkflow],
        activities=[probe.step, probe.cleanup, recorder.notify, recorder.record],
    ):
        result = await time_env.client.execute_workflow(
            StepProbeWorkflow.run, request, id=f"probe-{uuid.uuid4()}", task_queue=task_queue
        )
    return result, recorder


async def test_an_unanswered_gate_is_reminded_escalated_then_defaulted(time_env: WorkflowEnvironment) -> None:
    policy = AttentionPolicy(
        remind_after_seconds=4 * HOUR,
        escalate_after_seconds=24 * HOUR,
        default_after_seconds=72 * HOUR,
        default_action="reject",
    )
    result, recorder = await _run(time_env, ProbeInput(steps=["a"], gate=True, attention=policy), ProbeActivities())
    assert result.approved is False
    assert result.gate_operator == "stepwise:timeout"
    keys = [n.key.rsplit(":", 1)[1] for n in recorder.notices]
    assert keys == ["notice", "remind", "escalate"]
    assert [n.audience for n in recorder.notices] == ["operators", "operators", "operators"]
    assert recorder.notices[2].subject.startswith("Escalated:")
    assert [(a.step, a.action, a.operator, a.via) for a in recorder.audits] == [
        ("signoff", "reject", "stepwise:timeout", "timeout")
    ]
    assert "after 259200s" in recorder.audits[0].reason


async def test_a_parked_step_without_a_default_action_keeps_waiting_after_escalation(
    time_env: WorkflowEnvironment,
) -> None:
    probe = ProbeActivities()
    probe.armed.add("a")
    policy = AttentionPolicy(
        remind_after_seconds=HOUR,
        escalate_after_seconds=2 * HOUR,
        default_after_seconds=3 * HOUR,
        default_action="skip",
    )
    result, recorder = await _run(time_env, ProbeInput(steps=["a", "b"], attention=policy), probe)
    assert result.values == ["", "b-ok"]
    assert [a.action for a in recorder.audits] == ["skip"]
    assert probe.runs == {"a": 1, "b": 1}
