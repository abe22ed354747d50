"""The demo reconciliation end to end on the dev server, real Postgres databases and the AWS emulator."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.common import NotificationLedger
from activities.models.recon import ReconRun
from tests.support.recon import PLANTED_KEYS, databases_left, read_csv, results, start_demo, wait_phase
from worker.settings import Settings


async def test_the_demo_finds_exactly_the_planted_difference_and_approval_completes_it(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    stepwise_worker: Any,
    sessions: SessionMaker,
    aws: AwsClients,
) -> None:
    async with stepwise_worker(dev_env.client):
        handle = await start_demo(dev_env.client, settings.worker.task_queue, resources)
        status = await wait_phase(handle, "awaiting-signoff")
        assert status.different_reports == ["interest_accrual"]
        rows = await results(sessions, handle.id)
        assert {name: row.status for name, row in rows.items()} == {
            "loan_balances": "matched",
            "exposure_by_rating": "matched",
            "interest_accrual": "different",
            "maturity_ladder": "matched",
        }
        accrual = rows["interest_accrual"]
        assert (accrual.changed_rows, accrual.missing_rows, accrual.extra_rows) == (3, 0, 0)
        assert accrual.changed_columns == "monthly_interest"
        diff = await read_csv(aws, accrual.diff_uri or "")
        assert {row["key"] for row in diff} == PLANTED_KEYS
        assert {row["column"] for row in diff} == {"monthly_interest"}
        assert {(row["baseline"], row["candidate"]) for row in diff if row["key"] == "L-003"} == {("3958.33", "3958")}
        assert await databases_left(sessions, handle.id) == []

        async with sessions() as session:
            notice = await session.scalar(
                select(NotificationLedger).where(
                    NotificationLedger.notification_key.like(f"attention:{handle.id}:%:signoff#1:notice")
                )
            )
            run = await session.get(ReconRun, handle.id)
        assert notice is not None and notice.topic == resources.signoff_topic and "interest_accrual" in notice.body
        assert run is not None and run.status == "AWAITING_SIGNOFF" and run.reports_different == 1

        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("signoff", "approve", operator="ada", reason="rounding change expected"),
            result_type=DecisionOutcome,
        )
        result = await handle.result()
    assert result.outcome == "approved" and result.signoff_by == "ada"
    assert result.summary.different_reports == ["interest_accrual"]
    summary = await aws.read_object(resources.reports_bucket, result.summary.markdown_uri.split("/", 3)[3])
    assert b"interest_accrual" in summary
    async with sessions() as session:
        run = await session.get(ReconRun, handle.id)
    assert run is not None and run.status == "APPROVED" and run.signoff_reason == "rounding change expected"


async def test_rejecting_the_signoff_ends_the_run_rejected(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, stepwise_worker: Any, sessions: SessionMaker
) -> None:
    async with stepwise_worker(dev_env.client):
        handle = await start_demo(dev_env.client, settings.worker.task_queue, resources, reports=["interest_accrual"])
        await wait_phase(handle, "awaiting-signoff")
        await handle.execute_update(
            DECIDE_UPDATE, StepDecision("signoff", "reject", operator="ada", reason="no"), result_type=DecisionOutcome
        )
        result = await handle.result()
    assert result.outcome == "rejected" and result.summary.reports_total == 1
    async with sessions() as session:
        run = await session.get(ReconRun, handle.id)
    assert run is not None and run.status == "REJECTED"
    assert await databases_left(sessions, handle.id) == []
