"""The operator console in a real Chromium, on the embedded stack: the flows an operator runs.

Each test signs in through the form, acts by clicking, and then checks the world — the
booking row and the provider's refunds, DynamoDB items, the media job's row, the
reconciliation's record — and what the pages show. The booking flow saves the inbox and
execution screenshots the README shows (``STEPWISE_CONSOLE_SCREENSHOTS=docs`` to refresh them).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media.keys import media_workflow_id
from activities.models.media import MediaJob
from activities.models.recon import ReconRun
from activities.models.step_control import StepDecisionRecord
from activities.recon.contracts import ReconciliationInput
from tests.console.browser import chromium, screenshot_dir, served_console, signed_in_page
from tests.console.support import OPERATOR
from tests.e2e.booking_support import World, booking_request, new_flight
from tests.e2e.test_booking_rescue import refund_fails_until_fixed
from tests.e2e.test_booking_saga import fails_after_running
from tests.support.b2b import enrichment_down, new_partner, start_transactions, transactions_of
from tests.support.faults import fails_until_fixed
from tests.support.media import DEMO_TEXT, media_request, upload_media
from tests.support.step_control import wait_waiting
from worker.services.booking import submit_booking, workflow_id
from worker.services.recon import start_reconciliation, wait_for_decision_point, with_demo_defaults
from worker.settings import Settings
from workflows.media.workflow import MediaWorkflow

pytestmark = pytest.mark.timeout(300)


async def test_a_stuck_refund_is_found_in_the_inbox_retried_from_its_page_and_audited(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    world: World,
    stepwise_worker: Any,
    tmp_path: Path,
) -> None:
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight)
    state = {"fixed": False}
    replace = {"confirm_booking": fails_after_running, "refund_payment": refund_fails_until_fixed(state)}
    shots = screenshot_dir(tmp_path)
    async with (
        stepwise_worker(dev_env.client, replace=replace),
        served_console(dev_env.client, settings, sessions) as base_url,
        chromium() as browser,
    ):
        await submit_booking(dev_env.client, settings.worker.task_queue, request)
        handle = dev_env.client.get_workflow_handle(workflow_id(request.request_id))
        await wait_waiting(handle, "refund_payment")
        page = await signed_in_page(browser, base_url)
        row = page.locator("#inbox tbody tr", has_text=request.request_id)
        for _ in range(50):  # visibility shows the park a moment after it happens
            await page.goto("/console/inbox")
            if await row.count() and "PaymentProviderOutage" in await row.inner_text():
                break
            await asyncio.sleep(0.2)
        assert "refund_payment" in await row.inner_text() and "refunds are down" in await row.inner_text()
        await page.screenshot(path=str(shots / "console-inbox.png"), full_page=False)

        await row.locator("a").click()
        await page.wait_for_url("**/console/executions/**")
        waiting = page.locator("section.waiting[data-step=refund_payment]")
        assert "PaymentProviderOutage" in await waiting.inner_text()
        assert await page.locator("#temporal-link").get_attribute("href") == (
            f"http://localhost:8233/namespaces/default/workflows/{handle.id}/{(await handle.describe()).run_id}/history"
        )
        await page.screenshot(path=str(shots / "console-execution.png"), full_page=False)

        state["fixed"] = True
        await waiting.locator("form.decision-retry input[name=reason]").fill("provider is back")
        await waiting.locator("form.decision-retry button").click()
        await page.wait_for_selector("#done")
        assert "retry of refund_payment by ops-anna accepted" in await page.locator("#done").inner_text()
        with pytest.raises(WorkflowFailureError):
            await handle.result()  # the saga compensated: the booking ends as a failure

        await page.goto(f"/console/audit?workflow_id={handle.id}")
        audit = page.locator("#audit tbody tr")
        assert await audit.count() == 1
        assert [await audit.locator(cell).inner_text() for cell in (".operator", ".action", ".message")] == [
            OPERATOR,
            "retry",
            "provider is back",
        ]
    booking = await world.booking(request.request_id)
    assert booking is not None and booking.status == "CANCELLED"
    assert len(world.refunds(request.request_id)) == 1


async def test_three_parked_transactions_are_skipped_in_one_bulk_action(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    stepwise_worker: Any,
    emulators: Any,
) -> None:
    partner = new_partner()
    async with (
        stepwise_worker(dev_env.client),
        served_console(dev_env.client, settings, sessions) as base_url,
        chromium() as browser,
    ):
        with enrichment_down(emulators):
            handles = await start_transactions(dev_env.client, settings.worker.task_queue, partner, 3)
            await asyncio.gather(*(wait_waiting(h, "enrich", timeout=60) for h in handles))
            page = await signed_in_page(browser, base_url)
            query = "pipeline=b2b&step=enrich&error_type=EnrichmentUnavailable"
            ids = {h.id for h in handles}
            for _ in range(50):
                await page.goto(f"/console/bulk?{query}")
                listed = await page.locator("#bulk-matches tbody tr").all_inner_texts()
                if sum(1 for text in listed if partner in text) == 3:
                    break
                await asyncio.sleep(0.2)
            assert sum(1 for text in listed if partner in text) == 3
            await page.select_option("#bulk-form select[name=action]", "skip")
            await page.fill("#bulk-form input[name=reason]", "enrichment retired")
            await page.click("#bulk-form button")
            await page.wait_for_selector("#bulk-outcomes")
            outcomes = page.locator("#bulk-outcomes tbody tr", has_text=partner)
            assert await outcomes.count() == 3
            assert set(await outcomes.locator("td:nth-child(3)").all_inner_texts()) == {"accepted"}
            results = await asyncio.gather(*(h.result() for h in handles))
    assert {r.status for r in results} == {"STORED"}
    assert {row.status for row in (await transactions_of(sessions, partner)).values()} == {"STORED"}
    async with sessions() as session:
        audits = (
            await session.scalars(select(StepDecisionRecord).where(StepDecisionRecord.workflow_id.in_(ids)))
        ).all()
    assert sorted((a.workflow_id, a.action, a.operator) for a in audits) == sorted((i, "skip", OPERATOR) for i in ids)


async def test_a_failed_media_job_is_redriven_from_its_dead_letter_and_completes(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    stepwise_worker: Any,
) -> None:
    uri = await upload_media(aws, resources, DEMO_TEXT)
    request = media_request(uri, poll_interval_seconds=1)
    state = {"fixed": False}
    # Translate is down (not a business outcome): the job fails, and is redrivable once it is back.
    replace = {"translate_transcript": fails_until_fixed(state, "TranslateUnavailable", "Translate is unavailable")}
    async with (
        stepwise_worker(dev_env.client, replace=replace),
        served_console(dev_env.client, settings, sessions) as base_url,
        chromium() as browser,
    ):
        handle = await dev_env.client.start_workflow(
            MediaWorkflow.run, request, id=media_workflow_id(request.job_id), task_queue=settings.worker.task_queue
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        page = await signed_in_page(browser, base_url)
        await page.goto("/console/dead-letters?pipeline=media")
        row = page.locator("#dead-letters tbody tr", has_text=request.job_id)
        assert "TranslateUnavailable" in await row.inner_text()
        state["fixed"] = True
        await row.locator("button").click()
        await page.wait_for_selector("#done")
        assert f"{handle.id} started again" in await page.locator("#done").inner_text()
        assert await page.locator("#dead-letters tbody tr", has_text=request.job_id).count() == 0
        result = await dev_env.client.get_workflow_handle_for(MediaWorkflow.run, handle.id).result()
    assert result.job_id == request.job_id and {t.language for t in result.translations} == {"es", "fr"}
    async with sessions() as session:
        job = await session.get(MediaJob, request.job_id)
        redrives = (
            await session.scalars(select(StepDecisionRecord).where(StepDecisionRecord.workflow_id == handle.id))
        ).all()
    assert job is not None and job.status == "COMPLETED"
    assert [(r.action, r.operator, r.via) for r in redrives] == [("redrive", OPERATOR, "console")]


async def test_a_reconciliation_is_approved_from_its_page(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    stepwise_worker: Any,
) -> None:
    request = with_demo_defaults(
        ReconciliationInput(
            client_id="console",
            baseline="v1",
            candidate="v2",
            run=f"r{id(object())}",
            snapshot_uri="",
            report_packs_uri="",
        ),
        resources,
    )
    async with (
        stepwise_worker(dev_env.client),
        served_console(dev_env.client, settings, sessions) as base_url,
        chromium() as browser,
    ):
        run_id = await start_reconciliation(dev_env.client, settings.worker.task_queue, request)
        view = await wait_for_decision_point(dev_env.client, sessions, run_id, timeout=120)
        # The steps waiting for a human (with their errors) say why a run stopped short of sign-off.
        assert view.phase == "awaiting-signoff", (view.phase, view.waiting)
        page = await signed_in_page(browser, base_url)
        await page.goto(f"/console/executions/{run_id}")
        assert await page.locator("#recon-reports tbody tr").count() == view.reports_total
        gate = page.locator("section.waiting")
        assert "Waiting for approval" in await gate.inner_text()
        await gate.locator("form.decision-approve input[name=reason]").fill("differences explained")
        await gate.locator("form.decision-approve button").click()
        await page.wait_for_selector("#done")
        await dev_env.client.get_workflow_handle(run_id).result()
    async with sessions() as session:
        run = await session.get(ReconRun, run_id)
    assert run is not None and run.signoff_by == OPERATOR and run.signoff_reason == "differences explained"
