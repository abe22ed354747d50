"""Record the campaign histories replayed by tests/workflows/recon/test_recon_replay.py.

    .venv/bin/python -m tests.histories.record_recon [SCENARIO ...]

``recon-demo-*.json`` beside them are a demo run's histories, fetched from the dev server;
the campaign's are recorded here: ReconciliationCampaignWorkflow and its clients'
reconciliations run on the time-skipping server with the name-matched mock activities
(``tests.support.recon_mocks``; the histories have the same shape as with real ones). Each
campaign is built and started as ``stepwise recon campaign start`` does (the demo data's
snapshot and report packs, one run label for every client), and the campaign's own history
is written, one JSON file per scenario (every scenario when none is named):

* ``recon_campaign_completed``: three clients, two at a time, no sign-off: each client's
  reconciliation completes;
* ``recon_campaign_signed_off_and_failed``: two clients, one at a time, sign-off required.
  ``acme`` reaches its sign-off and frees its slot (its signal to the campaign); ``globex``
  then fails at once, its report pack unreadable; an operator approves ``acme``.

Re-record only when a workflow change is meant to be incompatible; where executions may be
running, guard the change with ``workflow.patched`` instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common.contracts import StepDecision
from activities.common.resources import Resources
from activities.recon.contracts import (
    PLAN,
    CampaignInput,
    CampaignResult,
    PlanInput,
    ReconciliationInput,
    ReconPlan,
)
from tests.histories.recording import Scenario, main
from tests.support.mocks import activity_name, mock_activity
from tests.support.recon_mocks import MockRecon
from tests.support.runner import catalog_worker
from tests.support.step_control import wait_waiting
from worker.services.recon import with_demo_defaults
from worker.services.recon_runs import campaign_id, campaign_input, start_campaign
from workflows.recon.campaign import ReconciliationCampaignWorkflow
from workflows.recon.reconciliation import ReconciliationWorkflow, reconciliation_id

CAMPAIGNS = {
    "recon_campaign_completed": ("q4-loans", "r20261208-030000"),
    "recon_campaign_signed_off_and_failed": ("q4-loans-signoff", "r20261208-040000"),
}
"""The campaign label of each scenario and its clients' run label (the CLI's default label, from
the time it was started; one per scenario, so that no two scenarios' reconciliations share an id)."""
RECORDED_WORKFLOW_IDS = {name: campaign_id(label) for name, (label, _run) in CAMPAIGNS.items()}
"""The workflow id of each recorded history (the replay runs it under the same id)."""


def unreadable_pack(mocks: MockRecon, run_id: str) -> list[Callable[..., Any]]:
    """The reconciliation mocks, with the report pack unreadable for the reconciliation ``run_id``."""

    @mock_activity(PLAN)
    async def plan(request: PlanInput) -> ReconPlan:
        if activity.info().workflow_id == run_id:
            raise ApplicationError(
                f"{request.report_packs_uri}{request.baseline}/pack.json: not valid JSON",
                type="ReportPackUnreadable",
                non_retryable=True,
            )
        return await mocks.plan(request)

    return [*(fn for fn in mocks.activities() if activity_name(fn) != PLAN.name), plan]


def _input(name: str, clients: list[str], *, max_parallel: int, signoff: bool) -> CampaignInput:
    """The campaign as ``stepwise recon campaign start`` builds it on the dev stack."""
    label, run = CAMPAIGNS[name]
    template = with_demo_defaults(
        ReconciliationInput(
            client_id=clients[0],
            baseline="v1",
            candidate="v2",
            run=run,
            snapshot_uri="",
            report_packs_uri="",
            signoff_required=signoff,
        ),
        Resources(),
    )
    return campaign_input(label, template, clients, max_parallel)


async def campaign_completed(env: WorkflowEnvironment) -> str:
    name = "recon_campaign_completed"
    request = _input(name, ["acme", "globex", "initech"], max_parallel=2, signoff=False)
    queue = f"record-{uuid.uuid4()}"
    async with catalog_worker(env, queue, MockRecon(reports=3).activities()):
        workflow_id = await start_campaign(env.client, queue, request)
        handle = env.client.get_workflow_handle(workflow_id, result_type=CampaignResult)
        result = await handle.result()
    assert sorted(result.outcomes.values()) == ["completed"] * 3, result
    return (await handle.fetch_history()).to_json()


async def campaign_signed_off_and_failed(env: WorkflowEnvironment) -> str:
    name = "recon_campaign_signed_off_and_failed"
    request = _input(name, ["acme", "globex"], max_parallel=1, signoff=True)
    run = CAMPAIGNS[name][1]
    acme, globex = reconciliation_id("acme", run), reconciliation_id("globex", run)
    queue = f"record-{uuid.uuid4()}"
    async with catalog_worker(env, queue, unreadable_pack(MockRecon(reports=3), globex)):
        workflow_id = await start_campaign(env.client, queue, request)
        handle = env.client.get_workflow_handle(workflow_id, result_type=CampaignResult)
        # Time stands still until the result is awaited: the sign-off waits, unreminded.
        await wait_waiting(env.client.get_workflow_handle(acme), "signoff")
        for _ in range(300):
            outcomes = (await handle.query(ReconciliationCampaignWorkflow.outcomes)).outcomes
            if outcomes == {acme: "awaiting-signoff", globex: "failed"}:
                break
            await asyncio.sleep(0.1)
        assert outcomes == {acme: "awaiting-signoff", globex: "failed"}, outcomes
        decision = StepDecision(
            "signoff", "approve", operator="ops-anna", reason="differences explained by the fee fix"
        )
        await env.client.get_workflow_handle(acme).execute_update(ReconciliationWorkflow.decide, decision)
        result = await handle.result()
    assert result.outcomes == {acme: "approved", globex: "failed"}, result
    return (await handle.fetch_history()).to_json()


SCENARIOS: dict[str, Scenario] = {
    "recon_campaign_completed": campaign_completed,
    "recon_campaign_signed_off_and_failed": campaign_signed_off_and_failed,
}


if __name__ == "__main__":
    main(SCENARIOS)
