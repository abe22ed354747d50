"""A failure in provision, restore, one report and one compare, in turn: it parks, shows in
`attention`, and an operator's retry, skip or abort does exactly what it says.

The real activities run behind a fault injector that fails one call after its side
effect happened (the answer was lost), and counts every call: the counters prove a
retry reran that step only.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.catalog import build_activities
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.recon import ReconRun
from tests.conftest import make_deps
from tests.support.faults import Fault, FaultInjector
from tests.support.recon import databases_left, results, start_demo, wait_phase
from tests.support.step_control import audits, wait_waiting
from worker.services.operations import list_attention
from worker.settings import Settings
from workflows.catalog import WORKFLOWS

# (injected activity, call label, parked step, parked in the v2 environment?)
POINTS = {
    "provision": ("recon_provision", "v2", "provision", True),
    "restore": ("recon_restore", "v2", "restore", True),
    "report": ("recon_run_report", "v2/loan_balances", "report:loan_balances", True),
    "compare": ("recon_compare", "exposure_by_rating", "compare:exposure_by_rating", False),
}


def _label(name: str, arg: Any) -> str:
    if name in ("recon_provision", "recon_teardown"):
        return str(arg.version)
    if name == "recon_restore":
        return str(arg.environment.version)
    if name == "recon_run_report":
        return f"{arg.environment.version}/{arg.report.name}"
    if name == "recon_compare":
        return str(arg.report.name)
    return ""


@pytest.fixture
def injector() -> FaultInjector:
    return FaultInjector(_label)


@pytest.fixture
async def faulty_worker(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    aws: Any,
    partner_http: Any,
    injector: FaultInjector,
) -> Any:
    deps = make_deps(dev_env.client, sessions, resources, aws, partner_http, settings)
    activities = [
        injector.wrap(fn)
        if getattr(fn, "__name__", "") in {"provision", "restore", "run_report", "compare", "teardown"}
        else fn
        for fn in build_activities(deps)
    ]
    return Worker(dev_env.client, task_queue=settings.worker.task_queue, workflows=WORKFLOWS, activities=activities)


async def _park(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, injector: FaultInjector, point: str
) -> tuple[Any, Any, str]:
    name, label, step, in_child = POINTS[point]
    injector.faults.append(Fault(name, label))
    handle = await start_demo(dev_env.client, settings.worker.task_queue, resources)
    parked = dev_env.client.get_workflow_handle(f"{handle.id}-v2" if in_child else handle.id)
    state = await wait_waiting(parked, step, timeout=60)
    assert state.last_error_type == "InjectedFault"
    for _ in range(50):
        listed = [i for i in await list_attention(dev_env.client) if i.workflow_id == parked.id]
        if listed:
            break
        await asyncio.sleep(0.1)
    assert listed and listed[0].step == step and listed[0].pipeline == "recon"
    injector.clear()
    return handle, parked, step


def _decision(step: str, action: str) -> StepDecision:
    return StepDecision(step, action, operator="ada", reason=f"{action} after looking")


@pytest.mark.parametrize("point", list(POINTS))
async def test_retry_reruns_only_the_failed_step(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    sessions: SessionMaker,
    injector: FaultInjector,
    faulty_worker: Worker,
    point: str,
) -> None:
    async with faulty_worker:
        handle, parked, step = await _park(dev_env, settings, resources, injector, point)
        await parked.execute_update(DECIDE_UPDATE, _decision(step, "retry"), result_type=DecisionOutcome)
        await wait_phase(handle, "awaiting-signoff")
        await handle.execute_update(DECIDE_UPDATE, _decision("signoff", "approve"), result_type=DecisionOutcome)
        result = await handle.result()
    name, label, _, _ = POINTS[point]
    reran = {key: count for key, count in injector.calls.items() if count > 1}
    assert reran == {(name, label): 2}
    assert injector.calls[("recon_provision", "v1")] == 1 and injector.calls[("recon_restore", "v1")] == 1
    assert result.outcome == "approved" and result.summary.different_reports == ["interest_accrual"]
    assert (await audits(sessions, parked.id))[0].action == "retry"
    assert await databases_left(sessions, handle.id) == []


@pytest.mark.parametrize("point", list(POINTS))
async def test_skip_continues_and_the_summary_says_so(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    sessions: SessionMaker,
    injector: FaultInjector,
    faulty_worker: Worker,
    point: str,
) -> None:
    async with faulty_worker:
        handle, parked, step = await _park(dev_env, settings, resources, injector, point)
        await parked.execute_update(DECIDE_UPDATE, _decision(step, "skip"), result_type=DecisionOutcome)
        status = await wait_phase(handle, "awaiting-signoff")
        assert status.summary is not None
        markdown = status.summary.markdown_uri
        await handle.execute_update(DECIDE_UPDATE, _decision("signoff", "approve"), result_type=DecisionOutcome)
        result = await handle.result()
    rows = await results(sessions, handle.id)
    text = await _read(markdown) if markdown else ""
    assert "## Skipped" in text  # the section exists only when something was skipped
    if point in ("report", "compare"):
        skipped_report = "loan_balances" if point == "report" else "exposure_by_rating"
        assert rows[skipped_report].status == "skipped" and result.summary.skipped == 1
        assert f"- report {skipped_report}: " in text
    else:
        assert result.summary.skipped == 0
        assert f"{point} of v2 skipped by an operator" in text
    assert (await audits(sessions, parked.id))[0].action == "skip"
    assert await databases_left(sessions, handle.id) == []


@pytest.mark.parametrize("point", list(POINTS))
async def test_abort_tears_down_and_fails_with_the_reason(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    sessions: SessionMaker,
    injector: FaultInjector,
    faulty_worker: Worker,
    point: str,
) -> None:
    async with faulty_worker:
        handle, parked, step = await _park(dev_env, settings, resources, injector, point)
        await parked.execute_update(
            DECIDE_UPDATE,
            StepDecision(step, "abort", operator="ada", reason="wrong snapshot"),
            result_type=DecisionOutcome,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "StepAborted"
    assert "aborted by ada: wrong snapshot" in cause.message
    assert await databases_left(sessions, handle.id) == []
    assert injector.calls[("recon_teardown", "v1")] >= 1 and injector.calls[("recon_teardown", "v2")] >= 1
    async with sessions() as session:
        run = await session.get(ReconRun, handle.id)
    assert run is not None and run.status == "ABORTED"
    assert [(a.step, a.action, a.reason) for a in await audits(sessions, parked.id)] == [
        (step, "abort", "wrong snapshot")
    ]


async def _read(uri: str) -> str:
    from activities.common.aws import AwsClients
    from activities.recon.providers import split_s3_uri

    bucket, key = split_s3_uri(uri)
    return (await AwsClients().read_object(bucket, key)).decode()
