"""Reconciliation workflow logic with name-matched mock activities.

* Comparisons never exceed N in flight (measured by the mock compare).
* A 500-report run keeps every execution's history below Temporal's 10,240-event warning.
* Invalid input fails at once with a typed error naming the field.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import AttentionPolicy, StepDecision
from activities.recon.contracts import CampaignInput, ReconciliationInput, ReconciliationResult
from tests.support.recon_mocks import MockRecon
from workflows.catalog import WORKFLOWS
from workflows.recon.campaign import ReconciliationCampaignWorkflow
from workflows.recon.reconciliation import ReconciliationWorkflow, reconciliation_id

HISTORY_WARNING = 10_240


def _request(run: str, **overrides: object) -> ReconciliationInput:
    values: dict[str, object] = {
        "client_id": "acme",
        "baseline": "v1",
        "candidate": "v2",
        "run": run,
        "snapshot_uri": "s3://bucket/snapshot.sql",
        "report_packs_uri": "s3://bucket/packs/",
        "signoff_required": False,
    }
    values.update(overrides)
    return ReconciliationInput(**values)  # type: ignore[arg-type]


async def _run(client: Client, mock: MockRecon, request: ReconciliationInput) -> ReconciliationResult:
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=task_queue, workflows=WORKFLOWS, activities=mock.activities(), max_concurrent_activities=50
    ):
        return await client.execute_workflow(
            ReconciliationWorkflow.run,
            request,
            id=reconciliation_id(request.client_id, request.run),
            task_queue=task_queue,
        )


async def _history_length(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def test_never_more_than_n_comparisons_in_flight(dev_env: WorkflowEnvironment) -> None:
    mock = MockRecon(reports=40, compare_seconds=0.05)
    result = await _run(dev_env.client, mock, _request(f"n{uuid.uuid4().hex[:8]}", max_parallel_comparisons=3))
    assert result.outcome == "completed"
    assert mock.calls["compare"] == 40
    assert mock.max_in_flight == 3


async def test_a_500_report_run_keeps_every_history_below_the_warning(time_env: WorkflowEnvironment) -> None:
    mock = MockRecon(reports=500)
    run = f"big{uuid.uuid4().hex[:8]}"
    request = _request(run, max_parallel_comparisons=5, max_parallel_reports=10)
    result = await _run(time_env.client, mock, request)
    assert result.summary.reports_total == 500 and mock.calls["compare"] == 500 and mock.calls["report"] == 1000
    parent = reconciliation_id("acme", run)
    lengths = {
        workflow_id: await _history_length(time_env.client, workflow_id)
        for workflow_id in (parent, f"{parent}-v1", f"{parent}-v2")
    }
    print(f"history events per execution for 500 reports: {lengths}")
    assert all(length < HISTORY_WARNING for length in lengths.values()), lengths


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_id": "Acme Corp"}, "client_id"),
        ({"candidate": "v1"}, "candidate"),
        ({"snapshot_uri": "file:///data/x.sql"}, "snapshot_uri"),
        ({"max_parallel_comparisons": 0}, "max_parallel_comparisons"),
        ({"tolerance": "a lot"}, "tolerance"),
    ],
)
async def test_invalid_input_fails_at_once_naming_the_field(
    time_env: WorkflowEnvironment, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await _run(time_env.client, MockRecon(reports=1), _request(f"bad{uuid.uuid4().hex[:8]}", **overrides))
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidReconciliation"
    assert cause.message.startswith(f"{field}:")


async def test_a_campaign_reconciles_many_clients_with_bounded_parallelism(time_env: WorkflowEnvironment) -> None:
    mock = MockRecon(reports=3)
    campaign = f"c{uuid.uuid4().hex[:8]}"
    runs = [_request(campaign, client_id=f"client-{i:02d}") for i in range(12)]
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(time_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=mock.activities()):
        result = await time_env.client.execute_workflow(
            ReconciliationCampaignWorkflow.run,
            CampaignInput(campaign=campaign, runs=runs, max_parallel=4),
            id=f"recon-campaign-{campaign}",
            task_queue=task_queue,
        )
    assert result.outcomes == {reconciliation_id(f"client-{i:02d}", campaign): "completed" for i in range(12)}
    history = await time_env.client.get_workflow_handle(f"recon-campaign-{campaign}").fetch_history()
    started = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert len(started) == 12
    assert mock.max_runs_in_flight == 4


async def test_an_unanswered_signoff_is_reminded_escalated_then_rejected_by_default(
    time_env: WorkflowEnvironment,
) -> None:
    hour = 3600.0
    policy = AttentionPolicy(
        remind_after_seconds=8 * hour,
        escalate_after_seconds=48 * hour,
        default_after_seconds=96 * hour,
        default_action="reject",
    )
    mock = MockRecon(reports=2)
    request = _request(f"gate{uuid.uuid4().hex[:8]}", signoff_required=True, signoff_attention=policy)
    result = await _run(time_env.client, mock, request)
    assert result.outcome == "rejected" and result.signoff_by == "stepwise:timeout"
    assert [(n.key.rsplit(":", 1)[1], n.audience) for n in mock.notices] == [
        ("notice", "signoff"),
        ("remind", "signoff"),
        ("escalate", "operators"),
    ]
    assert mock.calls["audit:reject"] == 1 and mock.calls["record:REJECTED"] == 1


async def test_a_failed_run_is_recorded_failed_with_its_step_and_reason(dev_env: WorkflowEnvironment) -> None:
    mock = MockRecon(reports=2, plan_error="ReportPackUnreadable")
    request = _request(f"fail{uuid.uuid4().hex[:8]}")
    with pytest.raises(WorkflowFailureError):
        await _run(dev_env.client, mock, request)
    assert [(f.run_id, f.failed_step, f.error_type, f.reason) for f in mock.failures] == [
        (reconciliation_id("acme", request.run), "plan", "ReportPackUnreadable", "the report pack is unreadable")
    ]
    assert mock.calls["record:RUNNING"] == 1


async def test_clients_waiting_for_signoff_free_their_campaign_slots(dev_env: WorkflowEnvironment) -> None:
    """Six clients, two slots, every one waiting for a human: all six still reach their sign-off."""
    campaign = f"slots{uuid.uuid4().hex[:8]}"
    mock = MockRecon(reports=2)
    runs = [_request(campaign, client_id=f"client-{i}", signoff_required=True) for i in range(6)]
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(dev_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=mock.activities()):
        handle = await dev_env.client.start_workflow(
            ReconciliationCampaignWorkflow.run,
            CampaignInput(campaign=campaign, runs=runs, max_parallel=2),
            id=f"recon-campaign-{campaign}",
            task_queue=task_queue,
        )
        outcomes: dict[str, str] = {}
        for _ in range(200):
            outcomes = (await handle.query(ReconciliationCampaignWorkflow.outcomes)).outcomes
            if list(outcomes.values()).count("awaiting-signoff") == 6:
                break
            await asyncio.sleep(0.1)
        assert sorted(outcomes.values()) == ["awaiting-signoff"] * 6
        for run in runs:
            child = dev_env.client.get_workflow_handle(reconciliation_id(run.client_id, run.run))
            await child.execute_update(
                ReconciliationWorkflow.decide, StepDecision("signoff", "approve", operator="ada", reason="ok")
            )
        result = await handle.result()
    assert sorted(result.outcomes.values()) == ["approved"] * 6
    assert mock.max_runs_in_flight == 2  # working clients never exceeded the two slots


async def test_a_report_failing_inside_a_share_runs_again_as_its_own_step(dev_env: WorkflowEnvironment) -> None:
    mock = MockRecon(reports=40)
    mock.fail_once.add("report_0003")
    request = _request(f"share{uuid.uuid4().hex[:8]}", max_parallel_comparisons=3)
    result = await _run(dev_env.client, mock, request)
    assert result.summary.reports_total == 40 and result.summary.matched == 40
    assert mock.calls["compare_share"] >= 3 and mock.calls["compare"] == 41  # 40 + the one compared again
    history = await dev_env.client.get_workflow_handle(reconciliation_id("acme", request.run)).fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled.count("recon_compare_share") == mock.calls["compare_share"]
    assert "recon_compare" in scheduled and mock.max_in_flight <= 3
