"""Step control on the dev server: park, retry, skip, abort, gates, validation, idempotency.

The probe workflow runs real step-control activities (audit rows in Postgres, notices
through the ledger to SNS on the AWS emulator); only its own steps are test activities.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common import search_attributes
from activities.common.contracts import (
    DECIDE_UPDATE,
    DECISION_SIGNAL,
    RECORD_DECISION,
    DecisionAudit,
    DecisionOutcome,
    StepDecision,
)
from activities.common.db import SessionMaker
from activities.common.step_control import StepControlActivities
from tests.support.mocks import mock_activity
from tests.support.step_control import audits, notices, step_status, update_event_count, wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput, StepProbeWorkflow


async def _decide(handle: WorkflowHandle[Any, Any], decision: StepDecision) -> DecisionOutcome:
    outcome: DecisionOutcome = await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
    return outcome


async def test_the_mixin_registers_update_signal_and_query_on_the_subclass() -> None:
    from temporalio.workflow import _Definition

    definition = _Definition.must_from_class(StepProbeWorkflow)
    assert DECIDE_UPDATE in definition.updates
    assert definition.updates[DECIDE_UPDATE].validator is not None
    assert DECISION_SIGNAL in definition.signals
    assert "stepwise.steps" in definition.queries


async def test_a_parked_step_is_visible_notified_and_retry_reruns_only_that_step(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b", "c"]))
    parked = await wait_waiting(handle, "b")
    assert parked.status == "parked"
    assert parked.last_error_type == "InjectedFault"
    assert "injected fault in b" in parked.last_error
    assert parked.allowed_actions == ["retry", "skip", "abort"]

    described = await handle.describe()
    assert described.typed_search_attributes.get(search_attributes.NEEDS_ATTENTION) is True
    assert described.typed_search_attributes.get(search_attributes.PARKED_STEP) == "b"
    assert described.typed_search_attributes.get(search_attributes.ATTENTION_SINCE) is not None
    sent = await notices(sessions, handle.id)
    assert [n.notification_key for n in sent] == [f"attention:{handle.id}:{handle.first_execution_run_id}:b#1:notice"]
    assert sent[0].message_id and "stepwise decide" in sent[0].body

    probe.armed.clear()
    outcome = await _decide(handle, StepDecision("b", "retry", operator="ada", reason="fixed the fault"))
    assert outcome.action == "retry" and not outcome.duplicate
    result = await handle.result()

    assert result.values == ["a-ok", "b-ok", "c-ok"]
    assert probe.runs == {"a": 1, "b": 2, "c": 1}
    described = await handle.describe()
    assert described.typed_search_attributes.get(search_attributes.NEEDS_ATTENTION) is False
    assert described.typed_search_attributes.get(search_attributes.PARKED_STEP) is None
    rows = await audits(sessions, handle.id)
    assert [(r.step, r.action, r.operator, r.reason, r.via, r.outcome) for r in rows] == [
        ("b", "retry", "ada", "fixed the fault", "update", "accepted")
    ]
    assert rows[0].run_id == described.run_id
    states = {s.name: s for s in (await step_status(handle)).steps}
    assert states["b"].status == "succeeded" and states["b"].runs == 2 and states["b"].decided_by == "ada"


async def test_skip_with_a_substitute_output_continues_and_is_reported_as_skipped(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b", "c"]))
    await wait_waiting(handle, "b")
    await _decide(handle, StepDecision("b", "skip", operator="ada", substitute_output={"value": "manual"}))
    result = await handle.result()
    assert result.values == ["a-ok", "manual", "c-ok"]
    assert probe.runs == {"a": 1, "b": 1, "c": 1}
    states = {s.name: s for s in (await step_status(handle)).steps}
    assert states["b"].status == "skipped" and states["b"].substituted


async def test_abort_runs_the_workflows_cleanup_and_fails_with_the_reason(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b", "c"]))
    await wait_waiting(handle, "b")
    await _decide(handle, StepDecision("b", "abort", operator="ada", reason="data is wrong"))
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "StepAborted"
    assert "aborted by ada: data is wrong" in cause.message
    assert probe.cleanups == 1 and "c" not in probe.runs
    assert [(r.action, r.outcome) for r in await audits(sessions, handle.id)] == [("abort", "accepted")]


async def test_invalid_decisions_are_rejected_by_the_validator_and_leave_no_history(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b"]))
    await wait_waiting(handle, "b")
    invalid = {
        "unknown step": StepDecision("nope", "retry", operator="ada"),
        "not waiting": StepDecision("a", "retry", operator="ada"),
        "unknown action": StepDecision("b", "explode", operator="ada"),
        "gate action on a step": StepDecision("b", "approve", operator="ada"),
        "operator": StepDecision("b", "retry", operator=" "),
    }
    messages = {}
    for label, decision in invalid.items():
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await _decide(handle, decision)
        assert isinstance(rejected.value.cause, ApplicationError)
        messages[label] = rejected.value.cause.message
    assert "unknown step 'nope'" in messages["unknown step"]
    assert "'a' is not waiting" in messages["not waiting"]
    assert "unknown action 'explode'" in messages["unknown action"]
    assert "does not apply" in messages["gate action on a step"]
    assert "operator identity is required" in messages["operator"]
    assert await update_event_count(handle) == 0
    assert await audits(sessions, handle.id) == []

    probe.armed.clear()
    await _decide(handle, StepDecision("b", "retry", operator="ada"))
    await handle.result()
    assert await update_event_count(handle) > 0


async def test_repeated_decisions_are_applied_once(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["b", "c"], gate=True))
    await wait_waiting(handle, "b")
    probe.armed.clear()
    decision = StepDecision("b", "retry", operator="ada", decision_id="ticket-42")
    first = await _decide(handle, decision)
    second = await _decide(handle, decision)
    await wait_waiting(handle, "signoff")
    third = await _decide(handle, StepDecision("b", "retry", operator="ada"))  # no id: same action, repeat
    await _decide(handle, StepDecision("signoff", "approve", operator="ada"))
    await handle.result()
    assert not first.duplicate and second.duplicate and third.duplicate
    assert probe.runs["b"] == 2
    assert [r.step for r in await audits(sessions, handle.id)] == ["b", "signoff"]


async def test_a_signal_decision_applies_and_an_invalid_signal_is_audited_as_rejected(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["b"]))
    await wait_waiting(handle, "b")
    await handle.signal(DECISION_SIGNAL, StepDecision("b", "explode", operator="ada"))
    await handle.signal(DECISION_SIGNAL, StepDecision("b", "retry", operator=""))
    state = await wait_waiting(handle, "b")
    assert state.status == "parked"
    probe.armed.clear()
    await handle.signal(DECISION_SIGNAL, StepDecision("b", "skip", operator="grace", reason="not needed"))
    result = await handle.result()
    assert result.values == [""]
    rows = await audits(sessions, handle.id)
    assert [(r.action, r.outcome, r.via) for r in rows] == [
        ("explode", "rejected", "signal"),
        ("retry", "rejected", "signal"),
        ("skip", "accepted", "signal"),
    ]
    assert "unknown action" in (rows[0].rejection or "")
    assert "operator identity" in (rows[1].rejection or "")


async def test_local_activity_and_child_workflow_steps_park_and_retry(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    probe.armed.update({"local:x", "child:y"})
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["local:x", "child:y"]))
    await wait_waiting(handle, "local:x")
    probe.armed.discard("local:x")
    await _decide(handle, StepDecision("local:x", "retry", operator="ada"))
    await wait_waiting(handle, "child:y")
    probe.armed.discard("child:y")
    await _decide(handle, StepDecision("child:y", "retry", operator="ada"))
    result = await handle.result()
    assert result.values == ["local:x-ok", "child:y-ok"]
    assert probe.runs == {"local:x": 2, "child:y": 2}


async def test_fail_mode_fails_the_workflow_with_the_steps_error(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    probe.armed.add("a")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a"], fail_mode="fail"))
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert "injected fault in a" in str(failure.value.cause.cause)  # type: ignore[union-attr]
    assert probe.cleanups == 1


async def test_a_gate_is_approved_by_update(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a"], gate=True))
    state = await wait_waiting(handle, "signoff")
    assert state.status == "waiting" and state.allowed_actions == ["approve", "reject"]
    with pytest.raises(WorkflowUpdateFailedError):
        await _decide(handle, StepDecision("signoff", "retry", operator="ada"))
    await _decide(handle, StepDecision("signoff", "approve", operator="ada", reason="looks right"))
    result = await handle.result()
    assert result.approved is True and result.gate_operator == "ada"


async def test_a_cancelled_workflow_does_not_park_its_running_step(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["slow:x", "b"]))
    for _ in range(50):
        if probe.runs.get("slow:x"):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("slow:x never started")
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    states = {s.name: s.status for s in (await step_status(handle)).steps}
    assert states == {"slow:x": "cancelled"}
    assert probe.cleanups == 1 and "b" not in probe.runs


def _worker_auditing_with(
    client: Client, task_queue: str, probe: ProbeActivities, control: StepControlActivities, record: Any
) -> Worker:
    """The probe's worker with ``record`` standing in for the audit activity (it calls the real one)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[StepProbeWorkflow],
        activities=[probe.step, probe.cleanup, record, control.notify],
    )


async def test_the_woken_step_runs_while_its_audit_is_written_and_the_update_answers_after_the_row(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    probe: ProbeActivities,
    step_control_activities: StepControlActivities,
    sessions: SessionMaker,
) -> None:
    """The audit activity here finishes only once the retried step has run again: had the step
    waited for the audit (as executions before the change do), the update could not answer."""

    @mock_activity(RECORD_DECISION)
    async def record_after_the_step_ran(audit: DecisionAudit) -> None:
        if audit.outcome == "accepted":
            for _ in range(200):
                if probe.runs.get("b", 0) >= 2:
                    break
                await asyncio.sleep(0.05)
            else:
                raise ApplicationError("the woken step did not run while its audit was pending", non_retryable=True)
        await step_control_activities.record_decision(audit)

    probe.armed.add("b")
    async with _worker_auditing_with(
        dev_env.client, task_queue, probe, step_control_activities, record_after_the_step_ran
    ):
        handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b", "c"]))
        await wait_waiting(handle, "b")
        probe.armed.clear()
        outcome = await asyncio.wait_for(
            _decide(handle, StepDecision("b", "retry", operator="ada", reason="fixed")), timeout=30
        )
        # The update answered: the row is already in Postgres, and the step ran before it was written.
        rows = await audits(sessions, handle.id)
        assert [(r.step, r.action, r.outcome) for r in rows] == [("b", "retry", "accepted")]
        assert outcome.action == "retry" and probe.runs["b"] == 2
        assert (await handle.result()).values == ["a-ok", "b-ok", "c-ok"]


async def test_an_abort_is_audited_before_the_workflow_tears_down_and_fails(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    probe: ProbeActivities,
    step_control_activities: StepControlActivities,
    sessions: SessionMaker,
) -> None:
    """An abort ends the workflow soon after: its row is written before the step wakes, so the
    teardown (the probe's cleanup) cannot have run while the audit activity works."""
    cleanups_seen: list[int] = []

    @mock_activity(RECORD_DECISION)
    async def record_slowly(audit: DecisionAudit) -> None:
        await asyncio.sleep(0.5)  # time enough for a teardown running beside the audit
        cleanups_seen.append(probe.cleanups)
        await step_control_activities.record_decision(audit)

    probe.armed.add("b")
    async with _worker_auditing_with(dev_env.client, task_queue, probe, step_control_activities, record_slowly):
        handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b", "c"]))
        await wait_waiting(handle, "b")
        await _decide(handle, StepDecision("b", "abort", operator="ada", reason="wrong data"))
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert cleanups_seen == [0] and probe.cleanups == 1
    assert [(r.action, r.outcome) for r in await audits(sessions, handle.id)] == [("abort", "accepted")]
