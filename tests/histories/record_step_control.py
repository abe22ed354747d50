"""Record the step-control histories replayed by tests/workflows/common/test_step_control_replay.py.

    .venv/bin/python -m tests.histories.record_step_control

Runs the probe workflow (``tests.workflows.common.step_probe``) on a dev server with stand-ins
for step control's audit and notice activities: a step fails, parks, an operator retries it by
update, and the run completes; then a gate is approved. The history holds the decision's audit
as it is written today (an activity scheduled in the workflow task that wakes the step, patch
``step-control-audit-beside-step``); ``..._local_audit.json`` holds the earlier way (a local
activity awaited before the step woke, patch ``step-control-local-audit``). Re-record only
when a change is meant to be incompatible, and guard it with ``workflow.patched`` instead.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import (
    DECIDE_UPDATE,
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    AttentionNotice,
    DecisionAudit,
    DecisionOutcome,
    NoticeSent,
    StepDecision,
)
from tests.support.mocks import mock_activity
from tests.support.step_control import wait_waiting
from tests.workflows.common.step_probe import ProbeActivities, ProbeChildWorkflow, ProbeInput, StepProbeWorkflow
from worker.devstack.temporal_server import dev_server_extra_args, temporal_binary

HERE = Path(__file__).parent
NAME = "step_control_parked_retried_and_gate_approved"


@mock_activity(RECORD_DECISION)
async def record_decision(audit: DecisionAudit) -> None:
    """The audit row, accepted."""


@mock_activity(NOTIFY_ATTENTION)
async def notify(notice: AttentionNotice) -> NoticeSent:
    """The notice, sent."""
    return NoticeSent(message_id=f"m-{notice.key}", duplicate=False)


async def record(env: WorkflowEnvironment) -> str:
    """Run the scenario; returns the history as JSON."""
    probe = ProbeActivities()
    probe.armed.add("b")
    queue = f"record-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[StepProbeWorkflow, ProbeChildWorkflow],
        activities=[probe.step, probe.cleanup, record_decision, notify],
    ):
        handle = await env.client.start_workflow(
            StepProbeWorkflow.run, ProbeInput(steps=["a", "b"], gate=True), id=f"probe-{NAME}", task_queue=queue
        )
        await wait_waiting(handle, "b")
        probe.armed.clear()
        decision = StepDecision("b", "retry", operator="ada", reason="fixed")
        await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
        await wait_waiting(handle, "signoff")
        approval = StepDecision("signoff", "approve", operator="ada", reason="looks right")
        await handle.execute_update(DECIDE_UPDATE, approval, result_type=DecisionOutcome)
        await handle.result()
        return (await handle.fetch_history()).to_json()


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), dev_server_extra_args=dev_server_extra_args(None), ui=False
    )
    try:
        (HERE / f"{NAME}.json").write_text(await record(env))
        print(f"wrote {NAME}.json")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
