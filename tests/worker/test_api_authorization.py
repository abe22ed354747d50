"""Who may call what, route by route and identity by identity, judged by what happened in the world.

Identities: no token, an unknown token, the operator, and two partners (acme, globex).
A partner owns what it creates; another partner's record answers exactly like a missing
one; operator-only routes answer 403 to partners; every route but health needs a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media.keys import media_workflow_id
from activities.models.media import MediaJob
from activities.poller.contracts import job_workflow_id
from tests.conftest import OPERATOR_TOKEN, PARTNER_TOKENS, serving_api
from tests.e2e.booking_support import World, new_flight
from tests.support.media import DEMO_TEXT, upload_media
from tests.support.poller import dataset_state, dataset_url, new_dataset
from tests.worker.test_poller_api import end_jobs, poller_config, schedule_exists
from worker.devstack.shipment_demo import demo_documents
from worker.services.booking import workflow_id
from worker.settings import Settings
from workflows.recon.reconciliation import reconciliation_id

IDENTITIES: dict[str, dict[str, str]] = {
    "none": {"Authorization": ""},
    "bad": {"Authorization": "Bearer not-a-token"},
    "operator": {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    **{partner: {"Authorization": f"Bearer {token}"} for partner, token in PARTNER_TOKENS.items()},
}
ACME, GLOBEX = IDENTITIES["acme"], IDENTITIES["globex"]


def _booking(flight: str, request_id: str, token: str = "tok_visa") -> dict[str, Any]:
    return {
        "request_id": request_id,
        "customer_id": "cust-secret-7",
        "flight_id": flight,
        "amount": "120.00",
        "currency": "EUR",
        "payment_token": token,
    }


async def _exists(env: WorkflowEnvironment, wid: str) -> bool:
    try:
        await env.client.get_workflow_handle(wid).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _ended(env: WorkflowEnvironment, wid: str) -> None:
    with contextlib.suppress(WorkflowFailureError):
        await env.client.get_workflow_handle(wid).result()


async def _until_step(api: httpx.AsyncClient, booking_id: str, step: str) -> None:
    for _ in range(200):
        if (await api.get(f"/bookings/{booking_id}")).json().get("current_step") == step:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"booking {booking_id} never reached {step}")


async def test_another_partner_can_neither_read_nor_cancel_nor_reuse_a_partners_booking(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    chosen = f"shared-{flight}"
    async with stepwise_worker(dev_env.client):
        created = await api.post("/bookings", json=_booking(flight, chosen, "tok_slow"), headers=ACME)
        booking_id = created.json()["booking_id"]
        await _until_step(api, booking_id, "collect_payment")
        foreign_read = await api.get(f"/bookings/{booking_id}", headers=GLOBEX)
        foreign_cancel = await api.post(f"/bookings/{booking_id}/cancel", json={"reason": "x"}, headers=GLOBEX)
        anonymous = [
            await api.post(f"/bookings/{booking_id}/cancel", json={}, headers=IDENTITIES[who])
            for who in ("none", "bad")
        ]
        reused = await api.post("/bookings", json=_booking(flight, chosen, "tok_slow"), headers=GLOBEX)
        await _ended(dev_env, workflow_id(booking_id))
        await _ended(dev_env, reused.json()["workflow_id"])
        own = await api.get(f"/bookings/{booking_id}", headers=ACME)
        operator = await api.get(f"/bookings/{booking_id}")

    assert created.status_code == 202
    assert (foreign_read.status_code, foreign_cancel.status_code) == (404, 404)
    assert foreign_read.json() == {"detail": f"no booking {booking_id!r}", "errors": []}
    assert "cust-secret-7" not in foreign_read.text + foreign_cancel.text
    assert [r.status_code for r in anonymous] == [401, 401]
    row = await world.booking(booking_id)
    assert row is not None and (row.status, row.owner) == ("CONFIRMED", "acme")
    assert world.refunds(booking_id) == [] and len(world.charges(booking_id)) == 1
    # The same request id from another partner is another booking, in that partner's namespace.
    assert reused.status_code == 202 and reused.json()["created"] is True
    assert reused.json()["booking_id"] != booking_id
    other = await world.booking(reused.json()["booking_id"])
    assert other is not None and other.owner == "globex"
    assert own.status_code == operator.status_code == 200
    assert own.json()["customer_id"] == "cust-secret-7" and own.json()["payment"]["charge_id"]
    assert operator.json()["owner"] == "acme"


async def test_a_partner_cancels_its_own_booking_but_cannot_reach_an_operators(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    async with stepwise_worker(dev_env.client):
        own = (await api.post("/bookings", json=_booking(flight, f"own-{flight}", "tok_slow"), headers=ACME)).json()
        theirs = (await api.post("/bookings", json=_booking(flight, f"op-{flight}", "tok_slow"))).json()
        await _until_step(api, own["booking_id"], "collect_payment")
        await _until_step(api, theirs["booking_id"], "collect_payment")
        cancelled = await api.post(f"/bookings/{own['booking_id']}/cancel", json={"reason": "mine"}, headers=ACME)
        refused = await api.post(f"/bookings/{theirs['booking_id']}/cancel", json={"reason": "x"}, headers=ACME)
        read = await api.get(f"/bookings/{theirs['booking_id']}", headers=ACME)
        await _ended(dev_env, own["workflow_id"])
        await _ended(dev_env, theirs["workflow_id"])

    assert cancelled.status_code == 202
    assert (refused.status_code, read.status_code) == (404, 404)
    mine = await world.booking(own["booking_id"])
    assert mine is not None and (mine.status, mine.failure_reason) == ("CANCELLED", "cancelled by customer: mine")
    assert len(world.refunds(own["booking_id"])) == 1
    operators = await world.booking(theirs["booking_id"])
    assert operators is not None and (operators.status, operators.owner) == ("CONFIRMED", None)
    assert world.refunds(theirs["booking_id"]) == []


@pytest.mark.parametrize("who", ["none", "bad"])
async def test_submissions_without_a_known_token_are_401_and_start_nothing(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, who: str
) -> None:
    request_id = f"anon-{uuid.uuid4().hex[:8]}"
    booking = await api.post("/bookings", json=_booking("FL-100", request_id), headers=IDENTITIES[who])
    media = await api.post(
        "/media-jobs",
        json={"job_id": request_id, "media_uri": "s3://stepwise-media/x.wav", "language": "en-US", "targets": ["es"]},
        headers=IDENTITIES[who],
    )
    assert (booking.status_code, media.status_code) == (401, 401)
    assert booking.headers["WWW-Authenticate"] == "Bearer"
    assert not await _exists(dev_env, workflow_id(request_id))
    assert not await _exists(dev_env, media_workflow_id(request_id))


async def test_a_partner_reads_only_its_own_media_jobs(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    aws: AwsClients,
    resources: Resources,
    world: World,
    stepwise_worker: Any,
) -> None:
    uri = await upload_media(aws, resources, DEMO_TEXT, folder="partners/acme")
    body = {"job_id": f"own-{uuid.uuid4().hex[:8]}", "media_uri": uri, "language": "en-US", "targets": ["es"]}
    async with stepwise_worker(dev_env.client):
        created = await api.post("/media-jobs", json={**body, "poll_interval_seconds": 1}, headers=ACME)
        job_id = created.json()["job_id"]
        await _ended(dev_env, media_workflow_id(job_id))
    foreign = await api.get(f"/media-jobs/{job_id}", headers=GLOBEX)
    own = await api.get(f"/media-jobs/{job_id}", headers=ACME)
    operator = await api.get(f"/media-jobs/{job_id}")

    assert created.status_code == 202
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": f"no media job {job_id!r}", "errors": []}
    assert (own.status_code, operator.status_code) == (200, 200)
    assert own.json()["transcript"] == DEMO_TEXT == operator.json()["transcript"]
    async with world.sessions() as session:
        row = await session.get(MediaJob, job_id)
    assert row is not None and (row.status, row.owner) == ("COMPLETED", "acme")


@pytest.mark.parametrize(
    ("who", "bucket", "folder"),
    [
        ("acme", "media", "partners/globex"),
        ("acme", "media", "tests"),
        ("acme", "reports", "snapshots"),
        ("operator", "reports", "snapshots"),
    ],
)
async def test_media_outside_the_callers_locations_is_refused_alike_whether_it_exists_or_not(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    aws: AwsClients,
    resources: Resources,
    who: str,
    bucket: str,
    folder: str,
) -> None:
    name = resources.media_bucket if bucket == "media" else resources.reports_bucket
    key = f"{folder}/{uuid.uuid4().hex}/talk.wav"
    await aws.call("s3", "put_object", Bucket=name, Key=key, Body=b"RIFF....WAVEfmt ")
    answers = []
    for uri in (f"s3://{name}/{key}", f"s3://{name}/{key}.missing"):
        job_id = f"loc-{uuid.uuid4().hex[:8]}"
        body = {"job_id": job_id, "media_uri": uri, "language": "en-US", "targets": ["es"]}
        response = await api.post("/media-jobs", json=body, headers=IDENTITIES[who])
        answers.append((response.status_code, response.json()))
        scoped = job_id if who == "operator" else f"{who}.{job_id}"
        assert not await _exists(dev_env, media_workflow_id(scoped))
        copied = await aws.call(
            "s3", "list_objects_v2", Bucket=resources.processing_bucket, Prefix=f"media-jobs/{scoped}/"
        )
        assert copied.get("KeyCount", 0) == 0
    refusal = (
        422,
        {
            "detail": "media_uri: is not in a location you may submit media from",
            "errors": [{"field": "media_uri", "message": "is not in a location you may submit media from"}],
        },
    )
    assert answers == [refusal, refusal]


OPERATOR_ONLY = [
    ("GET", "/attention", None, 200),
    ("GET", "/reconciliations/recon-nobody-r1", None, 404),
    ("POST", "/workflows/booking-nobody/decisions", {"step": "s", "action": "retry"}, 404),
    ("GET", "/decisions?workflow_id=booking-nobody", None, 200),
    (
        "POST",
        "/decisions/bulk",
        {"selection": {"pipeline": "booking", "step": "nothing-parks-here"}, "action": "retry", "dry_run": True},
        200,
    ),
    ("GET", "/dead-letters/booking", None, 200),
    ("POST", "/dead-letters/media/no-such-message/redrive", None, 404),
    ("GET", "/jobs", None, 200),
    ("GET", "/jobs?partner=acme", None, 200),
    ("GET", "/poller-schedules", None, 200),
    # No partner is registered for the poller in these settings: the operator's answer is the refusal.
    ("POST", "/poller-schedules", {"partner": "acme", "url": "http://127.0.0.1/partner-api/x/", "every": "1h"}, 422),
    ("DELETE", "/poller-schedules/acme", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "operator_status"), OPERATOR_ONLY)
@pytest.mark.parametrize(("who", "status"), [("none", 401), ("bad", 401), ("acme", 403), ("globex", 403)])
async def test_operator_routes_refuse_everyone_else(
    api: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    operator_status: int,
    who: str,
    status: int,
) -> None:
    refused = await api.request(method, path, json=body, headers=IDENTITIES[who])
    allowed = await api.request(method, path, json=body)
    assert (refused.status_code, allowed.status_code) == (status, operator_status)
    assert set(refused.json()) == {"detail", "errors"}


@pytest.mark.parametrize(("who", "status"), [("none", 401), ("bad", 401), ("acme", 403), ("operator", 202)])
async def test_only_an_operator_starts_a_reconciliation(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, who: str, status: int
) -> None:
    client_id = f"authz-{uuid.uuid4().hex[:8]}"
    response = await api.post(
        "/reconciliations",
        json={"client_id": client_id, "baseline": "v1", "candidate": "v2", "run": "r1"},
        headers=IDENTITIES[who],
    )
    assert response.status_code == status
    wid = reconciliation_id(client_id, "r1")
    assert await _exists(dev_env, wid) == (who == "operator")
    if who == "operator":
        # No worker polls this test's queue: end the run rather than leave it pending.
        await dev_env.client.get_workflow_handle(wid).terminate("test over")


@pytest.mark.parametrize(
    ("who", "status"), [("none", 401), ("bad", 401), ("acme", 403), ("globex", 404), ("operator", 404)]
)
@pytest.mark.parametrize("path", ["/partners/globex/transactions/t-1", "/partners/globex/batches/b-1"])
async def test_b2b_records_are_read_by_their_partner_and_operators_only(
    api: httpx.AsyncClient, path: str, who: str, status: int
) -> None:
    response = await api.get(path, headers=IDENTITIES[who])
    assert response.status_code == status


async def test_translation_projects_are_read_by_their_customer_and_operators_only(
    api: httpx.AsyncClient, resources: Resources
) -> None:
    paths = ["/translation-projects/globex-p1", "/translation-projects/globex-p1/outbound/es/a.xlf"]
    answers = {
        (who, path): (await api.get(path, headers=IDENTITIES[who])).status_code for who in IDENTITIES for path in paths
    }
    # acme's 404 is globex's own answer for a project that does not exist: nothing tells them apart.
    assert answers == {(who, path): {"none": 401, "bad": 401}.get(who, 404) for who in IDENTITIES for path in paths}
    upload = {
        who: (
            await api.post(paths[0] + "/files", files=[("files", ("a.xlf", b"x"))], headers=IDENTITIES[who])
        ).status_code
        for who in ("none", "bad", "acme")
    }
    assert upload == {"none": 401, "bad": 401, "acme": 403}


async def test_a_shipment_is_read_and_added_to_by_its_partner_and_operators_only(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, sessions: SessionMaker, stepwise_worker: Any
) -> None:
    reference = f"SHP-AUTH-{uuid.uuid4().hex[:8]}"
    shipment = f"acme.{reference}"  # a partner's shipments live in its namespace
    invoice = demo_documents()["invoice"]

    def document(doc_type: str) -> dict[str, Any]:
        return {"files": {"file": (f"{doc_type}.pdf", invoice, "application/pdf")}}

    async def post(shipment_id: str, who: str) -> httpx.Response:
        return await api.post(f"/shipments/{shipment_id}/documents/customs", headers=IDENTITIES[who], **document("x"))

    async with stepwise_worker(dev_env.client):
        started = await api.post(f"/shipments/{reference}/documents/invoice", headers=ACME, **document("invoice"))
        reads = {
            (who, name): (await api.get(f"/shipments/{name}", headers=IDENTITIES[who])).status_code
            for who in IDENTITIES
            for name in (reference, shipment)
        }
        # globex naming the same reference gets a shipment of its own, never acme's.
        globex_own = await post(reference, "globex")
        into_acmes = await post(shipment, "globex")
        anonymous = [(await post(reference, who)).status_code for who in ("none", "bad")]
        after = (await api.get(f"/shipments/{reference}", headers=ACME)).json()
        for workflow_id in (started.json()["workflow_id"], globex_own.json()["workflow_id"]):
            await dev_env.client.get_workflow_handle(workflow_id).terminate("test over")

    assert started.status_code == 202 and started.json()["shipment_id"] == shipment
    assert started.json()["workflow_id"] == f"shipment-{shipment}"
    assert reads == {
        **{("none", name): 401 for name in (reference, shipment)},
        **{("bad", name): 401 for name in (reference, shipment)},
        ("operator", reference): 404,  # the operator names shipments by their full id
        ("operator", shipment): 200,
        ("acme", reference): 200,
        ("acme", shipment): 200,
        ("globex", reference): 404,  # globex.<reference>: none yet
        ("globex", shipment): 404,
    }
    assert globex_own.status_code == 202 and globex_own.json()["shipment_id"] == f"globex.{reference}"
    assert into_acmes.status_code == 404 and into_acmes.json()["detail"] == f"no shipment {shipment!r}"
    assert anonymous == [401, 401]
    # Nothing of globex's or the anonymous callers' reached acme's shipment.
    assert after["owner"] == "acme" and [d["doc_type"] for d in after["documents"]] == ["invoice"]
    assert after["missing"] == ["customs"]


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/docs"])
async def test_health_and_docs_need_no_token(api: httpx.AsyncClient, path: str) -> None:
    assert (await api.get(path, headers=IDENTITIES["none"])).status_code == 200


@pytest.mark.parametrize(
    "api_and_media",
    [
        {"media": {"input_locations": {"operator": ["s3://stepwise-media/partners/acme"]}}},
        {"media": {"input_locations": {"*": ["https://stepwise-media/"]}}},
        {"api": {"partner_token_hashes": {"ac.me": "0" * 64}}},
        # A "-" ends the partner's part of b2b-<partner>-<id> and <customer>-<project>.
        {"api": {"partner_token_hashes": {"acme-eu": "0" * 64}}},
        {"poller": {"partners": {"acme-eu": ["https://partner.example/api/"]}}},
        {"api": {"partner_token_hashes": {"batch": "0" * 64}}},  # b2b-batch-... are batch workflow ids
        # A placeholder the caller cannot have: refused at start-up, not a 500 at the first request.
        {"media": {"input_locations": {"operator": ["s3://{media_bucket}/partners/{partner}/"]}}},
        {"media": {"input_locations": {"*": ["s3://{bucket}/"]}}},
    ],
)
def test_settings_refuse_locations_that_are_not_folders_and_partner_ids_with_dots_or_dashes(
    api_and_media: dict[str, Any],
) -> None:
    # A prefix without its "/" would admit "partners/acme-x/"; a "." would let a partner
    # choose ids inside another partner's namespace.
    with pytest.raises(ValidationError):
        Settings.model_validate(api_and_media)


PUBLIC_PATHS = {"/healthz", "/readyz"}


@pytest.mark.parametrize("who", ["none", "bad"])
async def test_every_route_but_health_refuses_a_caller_without_a_known_token(api: httpx.AsyncClient, who: str) -> None:
    document = (await api.get("/openapi.json")).json()
    answers = {}
    for path, operations in document["paths"].items():
        if path in PUBLIC_PATHS:
            continue
        concrete = path.replace("{", "").replace("}", "")  # /bookings/booking_id: a valid id nobody has
        for method in operations:
            response = await api.request(method.upper(), concrete, headers=IDENTITIES[who])
            answers[f"{method.upper()} {path}"] = response.status_code
    assert len(answers) >= 12
    assert set(answers.values()) == {401}, answers


# ----- the API poller: /jobs and /poller-schedules ----------------------------------------


@pytest.fixture
async def poller_api(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker, emulators: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with acme and globex registered for the poller, both on the emulator's partner API."""
    base = f"{emulators.state.url}/partner-api/"
    config = poller_config(settings, {"acme": [base], "globex": [base]})
    async with serving_api(dev_env, config, sessions) as client:
        yield client


async def _poller_job(env: WorkflowEnvironment, job_id: str) -> bool:
    return await _exists(env, job_workflow_id(job_id))


@pytest.mark.parametrize(
    ("who", "partner", "status"),
    [
        ("none", "acme", 401),
        ("bad", "acme", 401),
        ("acme", "acme", 202),
        ("acme", "globex", 403),
        ("globex", "acme", 403),
        ("operator", "acme", 202),
        ("operator", "globex", 202),
    ],
)
async def test_a_partner_starts_poller_jobs_for_its_own_data_only(
    dev_env: WorkflowEnvironment,
    poller_api: httpx.AsyncClient,
    emulators: Any,
    http: httpx.AsyncClient,
    who: str,
    partner: str,
    status: int,
) -> None:
    dataset = new_dataset()
    chosen = f"authz-{uuid.uuid4().hex[:8]}"
    body = {"url": dataset_url(emulators, dataset), "partner": partner, "job_id": chosen}
    scoped = chosen if who == "operator" else f"{who}.{chosen}"
    try:
        response = await poller_api.post("/jobs", json=body, headers=IDENTITIES[who])
        started = {
            job_id: await _poller_job(dev_env, job_id) for job_id in (chosen, f"acme.{chosen}", f"globex.{chosen}")
        }
    finally:
        await end_jobs(dev_env.client, chosen, f"acme.{chosen}", f"globex.{chosen}")

    assert response.status_code == status, response.text
    assert started == {job_id: (status == 202 and job_id == scoped) for job_id in started}
    state = await dataset_state(http, emulators, dataset)
    # A refused caller reaches no partner at all; an accepted start asks for the metadata once.
    assert (state["metadata_calls"], state["calls"]) == ((1 if status == 202 else 0), {})
    if status == 202:
        assert response.json()["job_id"] == scoped and response.json()["created"] is True
    else:
        assert set(response.json()) == {"detail", "errors"}


async def _two_jobs(api: httpx.AsyncClient, url: str, chosen: str) -> tuple[str, str]:
    """acme's job and an operator's, both for acme's data and named ``chosen`` by their starters."""
    own = await api.post("/jobs", json={"url": url, "partner": "acme", "job_id": chosen}, headers=ACME)
    operators = await api.post("/jobs", json={"url": url, "partner": "acme", "job_id": chosen})
    assert (own.status_code, operators.status_code) == (202, 202), (own.text, operators.text)
    return own.json()["job_id"], operators.json()["job_id"]


async def test_poller_jobs_are_read_with_a_token_and_operators_read_and_list_every_one(
    dev_env: WorkflowEnvironment, poller_api: httpx.AsyncClient, emulators: Any
) -> None:
    chosen = f"read-{uuid.uuid4().hex[:8]}"
    try:
        acme_job, operator_job = await _two_jobs(poller_api, dataset_url(emulators, new_dataset()), chosen)
        reads = {
            (who, whose): (await poller_api.get(f"/jobs/{job_id}", headers=IDENTITIES[who])).status_code
            for who in ("none", "bad", "operator")
            for whose, job_id in (("acme", acme_job), ("operator", operator_job))
        }
        lists = {who: (await poller_api.get("/jobs", headers=IDENTITIES[who])).status_code for who in IDENTITIES}
    finally:
        await end_jobs(dev_env.client, f"acme.{chosen}", chosen)

    assert (acme_job, operator_job) == (f"acme.{chosen}", chosen)
    assert reads == {
        ("none", "acme"): 401,
        ("none", "operator"): 401,
        ("bad", "acme"): 401,
        ("bad", "operator"): 401,
        ("operator", "acme"): 200,
        ("operator", "operator"): 200,
    }
    assert lists == {"none": 401, "bad": 401, "operator": 200, "acme": 403, "globex": 403}


async def test_a_partner_reads_only_the_poller_jobs_it_started(
    dev_env: WorkflowEnvironment, poller_api: httpx.AsyncClient, emulators: Any
) -> None:
    chosen = f"mine-{uuid.uuid4().hex[:8]}"
    try:
        acme_job, operator_job = await _two_jobs(poller_api, dataset_url(emulators, new_dataset()), chosen)
        reads = {
            (who, whose): await poller_api.get(f"/jobs/{job_id}", headers=IDENTITIES[who])
            for who in ("acme", "globex")
            for whose, job_id in (("acme", acme_job), ("operator", operator_job))
        }
        missing = await poller_api.get(f"/jobs/acme.never-{chosen}", headers=GLOBEX)
        unscoped = await poller_api.get(f"/jobs/never-{chosen}", headers=ACME)
    finally:
        await end_jobs(dev_env.client, f"acme.{chosen}", chosen)

    assert {key: r.status_code for key, r in reads.items()} == {
        ("acme", "acme"): 200,
        ("acme", "operator"): 404,  # an operator's job is not the partner's
        ("globex", "acme"): 404,  # another partner's job answers as a missing one
        ("globex", "operator"): 404,
    }
    assert reads[("acme", "acme")].json()["job_id"] == acme_job
    assert reads[("globex", "acme")].json() == {"detail": f"no poller job {acme_job!r}", "errors": []}
    assert reads[("acme", "operator")].json() == {"detail": f"no poller job {operator_job!r}", "errors": []}
    assert missing.json() == {"detail": f"no poller job 'acme.never-{chosen}'", "errors": []}
    assert (missing.status_code, unscoped.status_code) == (404, 404)


@pytest.mark.parametrize("who", ["acme", "globex"])
async def test_poller_schedules_are_the_operators_a_partner_neither_creates_lists_nor_deletes_one(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
    who: str,
) -> None:
    dataset = new_dataset()
    config = poller_config(settings, {who: [f"{emulators.state.url}/partner-api/"]})
    body = {"partner": who, "url": dataset_url(emulators, dataset), "every": "1h"}
    async with serving_api(dev_env, config, sessions) as api:
        try:
            refused_create = await api.post("/poller-schedules", json=body, headers=IDENTITIES[who])
            created_before = await schedule_exists(dev_env.client, who)
            fetched_before = await dataset_state(http, emulators, dataset)
            created = await api.post("/poller-schedules", json=body)
            refused = {
                "list": await api.get("/poller-schedules", headers=IDENTITIES[who]),
                "delete": await api.delete(f"/poller-schedules/{who}", headers=IDENTITIES[who]),
                "anonymous": await api.delete(f"/poller-schedules/{who}", headers=IDENTITIES["none"]),
            }
            still_there = await schedule_exists(dev_env.client, who)
        finally:
            deleted = await api.delete(f"/poller-schedules/{who}")

    assert refused_create.status_code == 403 and not created_before
    assert (fetched_before["metadata_calls"], fetched_before["calls"]) == (0, {})
    assert created.status_code == 201, created.text
    assert {name: r.status_code for name, r in refused.items()} == {"list": 403, "delete": 403, "anonymous": 401}
    assert still_there and deleted.status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/bookings", _booking("FL-100", "acme.booked-by-an-operator"), "request_id"),
        (
            "/media-jobs",
            {
                "job_id": "acme.transcribed",
                "media_uri": "s3://stepwise-media/a.wav",
                "language": "en-US",
                "targets": ["es"],
            },
            "job_id",
        ),
        ("/jobs", {"job_id": "acme.sync", "partner": "acme", "url": "https://partner.example/api/x/"}, "job_id"),
    ],
)
async def test_an_operator_cannot_create_a_record_inside_a_partners_namespace(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, path: str, body: dict[str, Any], field: str
) -> None:
    # It would belong to nobody, out of acme's reach, and collide with acme's own id.
    response = await api.post(path, json=body, headers=IDENTITIES["operator"])

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": field, "message": "ids starting 'acme.' are partner acme's: choose another id"}
    ]
    chosen = body.get("request_id") or body["job_id"]
    started = (workflow_id(chosen), media_workflow_id(chosen), job_workflow_id(chosen))
    assert not [wid for wid in started if await _exists(dev_env, wid)]


async def test_an_operators_dotted_id_outside_every_partners_namespace_is_its_own(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    # Only configured partners have namespaces: "2024.07.01-run" is an operator's id like any other.
    request_id = f"2024.07.01-{uuid.uuid4().hex[:8]}"
    response = await api.post("/bookings", json=_booking("FL-100", request_id), headers=IDENTITIES["operator"])
    assert response.status_code == 202, response.text
    assert response.json()["booking_id"] == request_id
    await dev_env.client.get_workflow_handle(workflow_id(request_id)).terminate("test over")  # no worker runs it
