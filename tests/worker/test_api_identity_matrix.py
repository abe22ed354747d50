"""The route-by-identity combinations `test_api_authorization` leaves out, judged by the world.

Reconciliation reads refuse partners; operators cancel partners' bookings, submit B2B
transactions for a partner and add documents to a partner's shipment; a partner never reaches
an operator's media job or shipment; two partners choosing one media job id get a job each;
readiness needs no token.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.documents.contracts import inbound_key
from activities.media.keys import media_workflow_id
from activities.models.documents import Shipment, ShipmentDocument
from activities.models.media import MediaJob
from activities.models.recon import ReconRun
from tests.e2e.booking_support import World, new_flight
from tests.support.b2b import note, transactions_of
from tests.support.media import DEMO_TEXT, upload_media
from tests.worker.test_api_authorization import (
    ACME,
    GLOBEX,
    IDENTITIES,
    _booking,
    _ended,
    _exists,
    _until_step,
)
from worker.devstack.shipment_demo import demo_documents
from worker.services.booking import workflow_id
from worker.services.recon_runs import campaign_id
from workflows.recon.reconciliation import reconciliation_id

REFUSED = {"none": 401, "bad": 401, "acme": 403, "globex": 403}
"""Operator-only routes: who is refused, and how."""


# ----- reconciliations: operator-only reads ---------------------------------------------------


async def test_only_an_operator_lists_reconciliation_runs(api: httpx.AsyncClient, sessions: SessionMaker) -> None:
    client_id = f"matrix-{uuid.uuid4().hex[:8]}"
    run_id = f"recon-{client_id}-r1"
    async with sessions.begin() as session:
        session.add(ReconRun(run_id=run_id, client_id=client_id, baseline="v1", candidate="v2", status="COMPLETED"))
    try:
        refused = {who: await api.get("/reconciliations", headers=IDENTITIES[who]) for who in REFUSED}
        listed = await api.get("/reconciliations", params={"client_id": client_id})
    finally:
        async with sessions.begin() as session:
            await session.execute(delete(ReconRun).where(ReconRun.run_id == run_id))

    assert {who: r.status_code for who, r in refused.items()} == REFUSED
    for answer in refused.values():
        assert set(answer.json()) == {"detail", "errors"} and run_id not in answer.text
    assert refused["acme"].json()["detail"] == "operator role required"
    assert listed.status_code == 200
    assert [(r["run_id"], r["status"]) for r in listed.json()["items"]] == [(run_id, "COMPLETED")]


async def test_only_an_operator_reads_a_reconciliation_campaign(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    campaign, clients = f"matrix-{tag}", [f"secret-client-{tag}-a", f"secret-client-{tag}-b"]
    body = {"campaign": campaign, "clients": clients, "baseline": "v1", "candidate": "v2", "run": "r1"}
    handle = dev_env.client.get_workflow_handle(campaign_id(campaign))
    started = await api.post("/reconciliation-campaigns", json=body)
    try:
        refused = {
            who: await api.get(f"/reconciliation-campaigns/{campaign}", headers=IDENTITIES[who]) for who in REFUSED
        }
        # No worker polls this test's queue: the campaign has run none of its reconciliations.
        still = (await handle.describe()).status
    finally:
        await handle.terminate("test over")
    read = await api.get(f"/reconciliation-campaigns/{campaign}")

    assert started.status_code == 202, started.text
    assert {who: r.status_code for who, r in refused.items()} == REFUSED
    for answer in refused.values():
        assert set(answer.json()) == {"detail", "errors"}
        assert not [client for client in clients if client in answer.text]
    assert still == WorkflowExecutionStatus.RUNNING
    assert not [c for c in clients if await _exists(dev_env, reconciliation_id(c, "r1"))]
    assert read.status_code == 200
    assert (read.json()["workflow_id"], read.json()["execution"]) == (campaign_id(campaign), "TERMINATED")


# ----- bookings: an operator reaches every one ----------------------------------------------------


async def test_an_operator_cancels_a_partners_booking(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    async with stepwise_worker(dev_env.client):
        created = await api.post("/bookings", json=_booking(flight, f"acme-{flight}", "tok_slow"), headers=ACME)
        booking_id = created.json()["booking_id"]
        await _until_step(api, booking_id, "collect_payment")
        cancelled = await api.post(f"/bookings/{booking_id}/cancel", json={"reason": "fraud check"})
        await _ended(dev_env, workflow_id(booking_id))
        partner_view = await api.get(f"/bookings/{booking_id}", headers=ACME)

    assert created.status_code == 202 and booking_id == f"acme.acme-{flight}"
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["booking_id"] == booking_id and cancelled.json()["accepted"] is True
    row = await world.booking(booking_id)
    assert row is not None
    assert (row.status, row.owner, row.failure_reason) == ("CANCELLED", "acme", "cancelled by customer: fraud check")
    assert len(world.charges(booking_id)) == 1 and len(world.refunds(booking_id)) == 1
    assert await world.reservation_status(booking_id, flight) == "RELEASED"
    # The partner still owns it and sees the operator's cancellation.
    assert partner_view.status_code == 200 and partner_view.json()["status"] == "CANCELLED"


# ----- media jobs -------------------------------------------------------------------------------------------


async def test_a_partner_never_reads_an_operators_media_job_running_or_finished(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    aws: AwsClients,
    resources: Resources,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    uri = await upload_media(aws, resources, DEMO_TEXT)
    job_id = f"ops-{uuid.uuid4().hex[:8]}"
    body = {"job_id": job_id, "media_uri": uri, "language": "en-US", "targets": ["es"], "poll_interval_seconds": 1}
    created = await api.post("/media-jobs", json=body)
    # Before any row exists, ownership comes from the start memo...
    while_running = {who: await api.get(f"/media-jobs/{job_id}", headers=IDENTITIES[who]) for who in ("acme", "globex")}
    async with stepwise_worker(dev_env.client):
        await _ended(dev_env, media_workflow_id(job_id))
    # ...and once the job is recorded, from its row.
    finished = {who: await api.get(f"/media-jobs/{job_id}", headers=IDENTITIES[who]) for who in ("acme", "globex")}
    missing = await api.get(f"/media-jobs/never-{job_id}", headers=ACME)
    operator = await api.get(f"/media-jobs/{job_id}")

    assert created.status_code == 202 and created.json()["job_id"] == job_id
    for answer in [*while_running.values(), *finished.values()]:
        assert answer.status_code == 404
        assert answer.json() == {"detail": f"no media job {job_id!r}", "errors": []}
        assert DEMO_TEXT not in answer.text and uri not in answer.text
    # Answered exactly as a job that does not exist.
    assert missing.status_code == 404 and missing.json() == {"detail": f"no media job 'never-{job_id}'", "errors": []}
    assert operator.status_code == 200 and operator.json()["transcript"] == DEMO_TEXT
    async with sessions() as session:
        row = await session.get(MediaJob, job_id)
    assert row is not None and (row.status, row.owner) == ("COMPLETED", None)


async def test_two_partners_choosing_one_media_job_id_each_start_their_own_and_see_only_it(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    aws: AwsClients,
    resources: Resources,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    chosen = f"same-{uuid.uuid4().hex[:8]}"
    partners = ("acme", "globex")
    uris = {p: await upload_media(aws, resources, DEMO_TEXT, folder=f"partners/{p}") for p in partners}
    body = {"job_id": chosen, "language": "en-US", "targets": ["es"], "poll_interval_seconds": 1}
    async with stepwise_worker(dev_env.client):
        created = {
            p: await api.post("/media-jobs", json={**body, "media_uri": uris[p]}, headers=IDENTITIES[p])
            for p in partners
        }
        for partner in partners:
            await _ended(dev_env, media_workflow_id(f"{partner}.{chosen}"))
    reads = {
        (who, whose): await api.get(f"/media-jobs/{whose}.{chosen}", headers=IDENTITIES[who])
        for who in (*partners, "operator")
        for whose in partners
    }
    started = {
        job: await _exists(dev_env, media_workflow_id(job)) for job in (chosen, *(f"{p}.{chosen}" for p in partners))
    }
    async with sessions() as session:
        rows = {p: await session.get(MediaJob, f"{p}.{chosen}") for p in partners}

    assert {p: (r.status_code, r.json()["job_id"], r.json()["created"]) for p, r in created.items()} == {
        p: (202, f"{p}.{chosen}", True) for p in partners
    }
    assert started == {chosen: False, f"acme.{chosen}": True, f"globex.{chosen}": True}
    assert {p: (row.status, row.owner, row.media_uri) for p, row in rows.items() if row is not None} == {
        p: ("COMPLETED", p, uris[p]) for p in partners
    }
    assert {key: r.status_code for key, r in reads.items()} == {
        ("acme", "acme"): 200,
        ("acme", "globex"): 404,
        ("globex", "acme"): 404,
        ("globex", "globex"): 200,
        ("operator", "acme"): 200,
        ("operator", "globex"): 200,
    }
    for partner in partners:
        own = reads[(partner, partner)].json()
        assert (own["media_uri"], own["owner"], own["transcript"]) == (
            uris[partner],
            partner,
            DEMO_TEXT,
        )
    assert reads[("acme", "globex")].json() == {"detail": f"no media job 'globex.{chosen}'", "errors": []}
    assert reads[("globex", "acme")].json() == {"detail": f"no media job 'acme.{chosen}'", "errors": []}


# ----- B2B: an operator submits for a partner ------------------------------------------------------------------


async def test_an_operator_submits_a_transaction_that_is_the_partners_and_readable_by_it(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, sessions: SessionMaker
) -> None:
    transaction = f"op-{uuid.uuid4().hex[:8]}"
    message = note(687, 329)
    submitted = await api.post(
        "/partners/acme/transactions", json={"transactionId": transaction, "transactionMessage": message}
    )
    try:
        own = await api.get(f"/partners/acme/transactions/{transaction}", headers=ACME)
        other = await api.get(f"/partners/acme/transactions/{transaction}", headers=GLOBEX)
        others_own = await api.get(f"/partners/globex/transactions/{transaction}", headers=GLOBEX)
        acme_rows = await transactions_of(sessions, "acme")
        globex_rows = await transactions_of(sessions, "globex")
    finally:
        await dev_env.client.get_workflow_handle(f"b2b-acme-{transaction}").terminate("test over")

    assert submitted.status_code == 202, submitted.text
    assert (submitted.json()["partner_id"], submitted.json()["workflow_id"]) == ("acme", f"b2b-acme-{transaction}")
    assert transaction in acme_rows and acme_rows[transaction].message == message
    assert transaction not in globex_rows
    assert own.status_code == 200
    assert (own.json()["partner_id"], own.json()["transaction_id"]) == ("acme", transaction)
    assert (other.status_code, others_own.status_code) == (403, 404)


# ----- shipments ---------------------------------------------------------------------------------------------------


def _pdf(doc_type: str) -> dict[str, Any]:
    return {"files": {"file": (f"{doc_type}.pdf", demo_documents()[doc_type], "application/pdf")}}


async def _document_types(sessions: SessionMaker, shipment_id: str, expected: int = 0) -> list[str]:
    """The types of the shipment's document rows, waiting (a while) until ``expected`` are written."""
    for _ in range(300):
        async with sessions() as session:
            rows = (
                await session.scalars(
                    select(ShipmentDocument.doc_type).where(ShipmentDocument.shipment_id == shipment_id)
                )
            ).all()
        if len(rows) >= expected:
            return sorted(rows)
        await asyncio.sleep(0.1)
    return sorted(rows)


async def _shipment_owner(sessions: SessionMaker, shipment_id: str) -> tuple[bool, str | None]:
    async with sessions() as session:
        row = await session.get(Shipment, shipment_id)
    return (row is not None, None if row is None else row.partner)


async def test_an_operator_adds_a_document_to_a_partners_shipment(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    sessions: SessionMaker,
    resources: Resources,
    stepwise_worker: Any,
) -> None:
    reference = f"SHP-OPADD-{uuid.uuid4().hex[:8]}"
    shipment = f"acme.{reference}"
    async with stepwise_worker(dev_env.client):
        try:
            started = await api.post(f"/shipments/{reference}/documents/invoice", headers=ACME, **_pdf("invoice"))
            added = await api.post(f"/shipments/{shipment}/documents/customs", **_pdf("customs"))
            types = await _document_types(sessions, shipment, expected=2)
            partner_view = await api.get(f"/shipments/{reference}", headers=ACME)
        finally:
            await dev_env.client.get_workflow_handle(f"shipment-{shipment}").terminate("test over")

    assert started.status_code == 202 and started.json()["shipment_id"] == shipment
    assert added.status_code == 202, added.text
    assert (added.json()["shipment_id"], added.json()["workflow_id"]) == (shipment, f"shipment-{shipment}")
    assert types == ["customs", "invoice"]
    assert await _shipment_owner(sessions, shipment) == (True, "acme")  # still the partner's
    assert partner_view.status_code == 200 and partner_view.json()["owner"] == "acme"
    assert sorted(d["doc_type"] for d in partner_view.json()["documents"]) == ["customs", "invoice"]
    assert partner_view.json()["missing"] == []


async def test_a_partner_cannot_add_to_an_operators_shipment_outside_its_namespace(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
    stepwise_worker: Any,
) -> None:
    reference = f"SHP-OPS-{uuid.uuid4().hex[:8]}"
    forwarders = f"fwd.{reference}"  # an operator's id in a namespace that is not acme's
    workflows = [f"shipment-{forwarders}", f"shipment-{reference}", f"shipment-acme.{reference}"]
    async with stepwise_worker(dev_env.client):
        try:
            created = [
                await api.post(f"/shipments/{name}/documents/invoice", **_pdf("invoice"))
                for name in (forwarders, reference)
            ]
            into_forwarders = await api.post(
                f"/shipments/{forwarders}/documents/customs", headers=ACME, **_pdf("customs")
            )
            # The operator's plain reference, named by acme, is acme's own shipment: never the operator's.
            own = await api.post(f"/shipments/{reference}/documents/customs", headers=ACME, **_pdf("customs"))
            types = {
                name: await _document_types(sessions, name, expected=1)
                for name in (forwarders, reference, f"acme.{reference}")
            }
        finally:
            for wid in workflows:
                if await _exists(dev_env, wid):
                    await dev_env.client.get_workflow_handle(wid).terminate("test over")

    assert [r.status_code for r in created] == [202, 202], [r.text for r in created]
    assert into_forwarders.status_code == 404
    assert into_forwarders.json() == {"detail": f"no shipment {forwarders!r}", "errors": []}
    assert own.status_code == 202 and own.json()["shipment_id"] == f"acme.{reference}"
    assert types == {forwarders: ["invoice"], reference: ["invoice"], f"acme.{reference}": ["customs"]}
    assert await _shipment_owner(sessions, forwarders) == (True, None)  # fwd is no configured partner
    assert await _shipment_owner(sessions, reference) == (True, None)
    assert await _shipment_owner(sessions, f"acme.{reference}") == (True, "acme")
    # Nothing of acme's was stored in the forwarder's inbound folder.
    listed = await aws.call(
        "s3", "list_objects_v2", Bucket=resources.documents_bucket, Prefix=inbound_key(forwarders, "customs")
    )
    assert listed.get("KeyCount", 0) == 0


async def test_an_operators_upload_into_a_partners_namespace_never_locks_the_partner_out_of_its_reference(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, sessions: SessionMaker, resources: Resources
) -> None:
    # Bookings, media jobs and poller jobs refuse an operator's id inside a partner's namespace
    # (it would belong to nobody, out of the partner's reach): a shipment must not end that way either.
    reference = f"SHP-NS-{uuid.uuid4().hex[:8]}"
    shipment = f"acme.{reference}"
    try:
        by_operator = await api.post(f"/shipments/{shipment}/documents/invoice", **_pdf("invoice"))
        by_acme = await api.post(f"/shipments/{reference}/documents/customs", headers=ACME, **_pdf("customs"))
        read = await api.get(f"/shipments/{reference}", headers=ACME)
        owner = await _shipment_owner(sessions, shipment)
    finally:
        if await _exists(dev_env, f"shipment-{shipment}"):
            await dev_env.client.get_workflow_handle(f"shipment-{shipment}").terminate("test over")

    assert by_operator.status_code in (202, 422), by_operator.text
    assert by_acme.status_code == 202, by_acme.text
    assert read.status_code == 200 and owner == (True, "acme")


# ----- health ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["none", "bad"])
async def test_readiness_needs_no_token(api: httpx.AsyncClient, who: str) -> None:
    response = await api.get("/readyz", headers=IDENTITIES[who])
    assert response.status_code == 200, response.text
    assert response.json()["ready"] is True
    assert set(response.json()["checks"].values()) == {"ok"}
