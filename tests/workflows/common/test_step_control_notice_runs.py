"""Attention notices are once per park *per run*: the ledger key carries the first run's id.

A workflow started again under the same id (a failed shipment, a redriven media job) is a new
run chain and notifies its parks, reminders and escalations afresh; a chain that continued as
new keeps its first run's id. On the dev server, through the real ledger in Postgres and SNS
on the AWS emulator.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import DECIDE_UPDATE, AttentionPolicy, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from tests.support.step_control import notices, wait_waiting
from tests.workflows.common.continuing_probe import ContinuingInput, ContinuingProbeWorkflow
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput, StepProbeWorkflow

STAGES = ("notice", "remind", "escalate")


async def _start_again(
    client: Client, task_queue: str, workflow_id: str, request: ProbeInput
) -> WorkflowHandle[Any, Any]:
    """Start the probe under ``workflow_id`` as the product starts a failed case again."""
    return await client.start_workflow(
        StepProbeWorkflow.run,
        request,
        id=workflow_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )


async def _abort(handle: WorkflowHandle[Any, Any], step: str) -> None:
    await handle.execute_update(
        DECIDE_UPDATE, StepDecision(step, "abort", operator="ada", reason="start it again"), result_type=DecisionOutcome
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()


async def test_a_workflow_started_again_under_the_same_id_notifies_its_park_reminder_and_escalation_again(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    workflow_id = f"probe-again-{uuid.uuid4()}"
    request = ProbeInput(steps=["a", "b"], attention=AttentionPolicy(remind_after_seconds=1, escalate_after_seconds=2))

    first = await _start_again(dev_env.client, task_queue, workflow_id, request)
    await wait_waiting(first, "b")
    assert len(await notices(sessions, workflow_id, at_least=3)) == 3
    await _abort(first, "b")

    second = await _start_again(dev_env.client, task_queue, workflow_id, request)
    runs = (first.first_execution_run_id, second.first_execution_run_id)
    assert None not in runs and runs[0] != runs[1]
    await wait_waiting(second, "b")
    assert len(await notices(sessions, workflow_id, at_least=6)) == 6
    await asyncio.sleep(1)  # nothing more arrives: each run notified each stage once
    sent = await notices(sessions, workflow_id)
    await _abort(second, "b")

    keys = sorted(row.notification_key for row in sent)
    assert keys == sorted(f"attention:{workflow_id}:{run}:b#1:{stage}" for run in runs for stage in STAGES)
    assert all(row.message_id for row in sent)  # each published to SNS, not only claimed


async def test_a_workflow_that_continued_as_new_keys_its_notices_by_its_first_run(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker, sessions: SessionMaker
) -> None:
    probe.armed.add("b")
    workflow_id = f"probe-continued-{uuid.uuid4()}"
    started = await dev_env.client.start_workflow(
        ContinuingProbeWorkflow.run, ContinuingInput(step="b", continues=2), id=workflow_id, task_queue=task_queue
    )
    first_run = started.first_execution_run_id
    latest = dev_env.client.get_workflow_handle(workflow_id)  # the run now, not the one started
    await wait_waiting(latest, "b")
    [notice] = await notices(sessions, workflow_id)
    assert notice.notification_key == f"attention:{workflow_id}:{first_run}:b#1:notice"

    probe.armed.clear()
    await latest.execute_update(
        DECIDE_UPDATE, StepDecision("b", "retry", operator="ada", reason="fixed"), result_type=DecisionOutcome
    )
    result = await started.result()  # follows the chain to its last run
    assert result.first_execution_run_id == first_run  # kept by the SDK across continue-as-new...
    assert result.run_id != first_run and result.continued_run_id not in (None, first_run)  # ...twice over
