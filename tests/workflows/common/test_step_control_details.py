"""A parked step tells the Temporal UI what waits, why and how to decide (current details),
and a step waiting for a skip says what its substitute must be (the status query)."""

from __future__ import annotations

from typing import Any

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import StepDecision
from tests.support.step_control import wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput, StepProbeWorkflow


async def _details(handle: WorkflowHandle[Any, Any]) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def test_a_parked_step_sets_the_executions_current_details_until_it_is_decided(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b", "c"]))
    parked = await wait_waiting(handle, "b")
    details = await _details(handle)
    assert "**b** is parked since" in details
    assert "InjectedFault: injected fault in b" in details
    assert f"`stepwise decide {handle.id} b retry|skip|abort --operator NAME --reason TEXT`" in details
    # The probe can do without a step's output (run_optional): a skip may carry one, need not.
    assert (parked.output_type, parked.output_required) == ("tests.workflows.common.step_probe:ProbeOutput", False)

    probe.armed.clear()
    await handle.execute_update(StepProbeWorkflow.decide, StepDecision("b", "retry", operator="ada"))
    await handle.result()
    assert await _details(handle) == ""


async def test_a_gate_shows_its_question_in_the_details_and_the_status_query(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a"], gate=True))
    gate = await wait_waiting(handle, "signoff")
    assert (gate.subject, gate.body, gate.output_type) == ("probe sign-off", "approve?", "")
    assert "**signoff** waits for a decision since" in await _details(handle)
    await handle.execute_update(StepProbeWorkflow.decide, StepDecision("signoff", "approve", operator="ada"))
    assert (await handle.result()).approved is True
