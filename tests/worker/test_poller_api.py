"""`/jobs` and `/poller-schedules` through HTTP: a refused URL is a 422 naming the field, and nothing is fetched.

Every refusal is judged by the world as well as by the answer: the emulator's data sets
count each metadata and page request, so "nothing fetched" is what the partner saw, and
Temporal has no ``poller-<job id>`` workflow (nor a ``poller-sync-<partner>`` schedule).
The poller settings are built per test (``poller_config``), so each test registers the
partners and base URLs it needs; no worker runs here, and every job a test starts is
terminated when it ends.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.common.db import SessionMaker
from activities.poller.contracts import job_workflow_id
from tests.conftest import serving_api
from tests.support.poller import configure, dataset_state, dataset_url, new_dataset
from worker.services.poller import schedule_id
from worker.settings import Settings

METADATA_ENDPOINT = "http://169.254.169.254/latest/meta-data/"


def poller_config(
    settings: Settings, partners: dict[str, list[str]], *, allow_private_networks: bool = True, **poller: Any
) -> Settings:
    """``settings`` whose poller may fetch exactly ``partners``' base URLs (the emulator is on loopback)."""
    group = settings.poller.model_copy(
        update={
            "partners": partners,
            "allow_private_networks": allow_private_networks,
            "retention_schedule": False,
            **poller,
        }
    )
    return settings.model_copy(update={"poller": group})


async def workflow_exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def schedule_exists(client: Client, partner: str) -> bool:
    try:
        await client.get_schedule_handle(schedule_id(partner)).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def end_jobs(client: Client, *job_ids: str) -> None:
    """Terminate the jobs a test started (no worker polls its queue), if they exist."""
    for job_id in job_ids:
        with contextlib.suppress(RPCError):  # never started, or already ended
            await client.get_workflow_handle(job_workflow_id(job_id)).terminate("test over")


async def untouched(http: httpx.AsyncClient, emulators: Any, *datasets: str) -> dict[str, Any]:
    """Each data set's metadata and page requests, by name (all zero when nothing was fetched)."""
    seen = {}
    for dataset in datasets:
        state = await dataset_state(http, emulators, dataset)
        seen[dataset] = (state["metadata_calls"], state["calls"])
    return seen


def refusal(field: str, message: str) -> dict[str, Any]:
    return {"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]}


@pytest.fixture
def two_datasets() -> tuple[str, str]:
    """A data set registered for acme and one next to it that is not."""
    return new_dataset(), new_dataset()


BAD_URLS = [
    # (url template, partner, field, message fragment); {emu} is the emulator, {ds} acme's
    # registered data set, {other} a data set on the same server that acme may not fetch.
    ("not a url", "acme", "url", "contains spaces or control characters"),
    ("partner-api/{ds}/", "acme", "url", "must be an http:// or https:// URL"),
    ("http://[::1/partner-api/{ds}/", "acme", "url", "not a URL"),
    ("ftp://127.0.0.1/partner-api/{ds}/", "acme", "url", "must be an http:// or https:// URL"),
    ("http:///partner-api/{ds}/", "acme", "url", "has no host"),
    # The cloud metadata endpoint: link-local, and registered for nobody.
    ("http://169.254.169.254/", "acme", "url", "not under a base URL registered for partner 'acme'"),
    (METADATA_ENDPOINT, "acme", "url", "not under a base URL registered for partner 'acme'"),
    # The registered host, a path outside the registered base.
    ("{emu}/partner-api/{other}/", "acme", "url", "not under a base URL registered for partner 'acme'"),
    ("{emu}/partner-api/{ds}x/", "acme", "url", "not under a base URL registered for partner 'acme'"),
    ("{emu}/partner-api/", "acme", "url", "not under a base URL registered for partner 'acme'"),
    # An unregistered host, though it is the same server.
    ("{emu_localhost}/partner-api/{ds}/", "acme", "url", "not under a base URL registered for partner 'acme'"),
    ("http://partner.example.com/partner-api/{ds}/", "acme", "url", "not under a base URL registered"),
    # User info, a query, a fragment, dot segments (also percent-encoded).
    ("{emu_userinfo}/partner-api/{ds}/", "acme", "url", "must not carry user info"),
    ("{emu}@169.254.169.254/partner-api/{ds}/", "acme", "url", "must not carry user info"),
    ("{emu}/partner-api/{ds}/?page=1", "acme", "url", "must not carry a query or a fragment"),
    ("{emu}/partner-api/{ds}/?", "acme", "url", "must not carry a query or a fragment"),
    ("{emu}/partner-api/{ds}/#top", "acme", "url", "must not carry a query or a fragment"),
    ("{emu}/partner-api/{ds}/../{other}/", "acme", "url", "must not contain '.' or '..' path segments"),
    ("{emu}/partner-api/{ds}/%2e%2E/{other}/", "acme", "url", "must not contain '.' or '..' path segments"),
    ("{emu}/partner-api/{ds}/./", "acme", "url", "must not contain '.' or '..' path segments"),
    # Not the API's base URL.
    ("{emu}/partner-api/{ds}/metadata", "acme", "url", "must be the API's base URL, ending in '/'"),
    # A partner the poller does not know, or a partner id that is none.
    ("{emu}/partner-api/{ds}/", "initech", "partner", "'initech' is not a registered partner of the poller"),
]


def _fill(template: str, emulators: Any, ds: str, other: str) -> str:
    emu = emulators.state.url
    return template.format(
        emu=emu,
        emu_localhost=emu.replace("127.0.0.1", "localhost"),
        emu_userinfo=emu.replace("http://", "http://user:secret@"),
        ds=ds,
        other=other,
    )


@pytest.mark.parametrize(("template", "partner", "field", "message"), BAD_URLS)
async def test_a_refused_url_is_422_naming_the_field_and_nothing_is_fetched(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
    two_datasets: tuple[str, str],
    template: str,
    partner: str,
    field: str,
    message: str,
) -> None:
    ds, other = two_datasets
    config = poller_config(settings, {"acme": [dataset_url(emulators, ds)]})
    job_id = f"refused-{uuid.uuid4().hex[:10]}"
    url = _fill(template, emulators, ds, other)
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post("/jobs", json={"url": url, "partner": partner, "job_id": job_id})
        status = await api.get(f"/jobs/{job_id}")

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert message in body["errors"][0]["message"], body
    assert body["detail"] == f"{field}: {body['errors'][0]['message']}"
    assert await untouched(http, emulators, ds, other) == {ds: (0, {}), other: (0, {})}
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))
    assert status.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"partner": "Acme"}, "partner"),
        ({"partner": "ac.me"}, "partner"),
        ({"job_id": "has spaces"}, "job_id"),
        ({"job_id": "-leading-dash"}, "job_id"),
        ({"job_id": "x" * 60}, "job_id"),
        ({"url": "http://127.0.0.1/\x00/"}, "url"),
        ({"url": "http://127.0.0.1/" + "a/" * 1024}, "url"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_a_malformed_field_is_422_naming_it_before_any_check(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
    body: dict[str, Any],
    field: str,
) -> None:
    ds = new_dataset()
    config = poller_config(settings, {"acme": [dataset_url(emulators, ds)]})
    request = {"url": dataset_url(emulators, ds), "partner": "acme", **body}
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post("/jobs", json=request)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await untouched(http, emulators, ds) == {ds: (0, {})}


async def test_a_data_set_whose_metadata_redirects_to_the_metadata_endpoint_is_refused_and_no_job_starts(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    ds = new_dataset()
    await configure(http, emulators, ds, redirect_to=METADATA_ENDPOINT)
    config = poller_config(settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    job_id = f"redirect-{uuid.uuid4().hex[:10]}"
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post(
            "/jobs", json={"url": dataset_url(emulators, ds), "partner": "acme", "job_id": job_id}
        )
        status = await api.get(f"/jobs/{job_id}")

    assert response.status_code == 422, response.text
    assert response.json() == refusal("url", f"redirects to {METADATA_ENDPOINT}; the poller follows no redirects")
    # The one metadata request that saw the redirect (it was not followed), no page.
    assert await untouched(http, emulators, ds) == {ds: (1, {})}
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))
    assert status.status_code == 404


async def test_a_data_set_whose_metadata_is_refused_by_the_partner_is_422(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
) -> None:
    config = poller_config(settings, {"acme": [f"{emulators.state.url}/"]})
    job_id = f"missing-{uuid.uuid4().hex[:10]}"
    async with serving_api(dev_env, config, sessions) as api:
        # The emulator has no such route: its metadata answers 404.
        response = await api.post(
            "/jobs", json={"url": f"{emulators.state.url}/no-such-api/", "partner": "acme", "job_id": job_id}
        )
    assert response.status_code == 422, response.text
    assert response.json() == refusal("url", "the partner API answered 404 for its metadata")
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))


@pytest.mark.parametrize("base", ["{emu}/partner-api/", "http://localhost:{port}/partner-api/"])
async def test_a_partner_registered_on_a_loopback_address_is_refused_without_private_networks(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
    base: str,
) -> None:
    ds = new_dataset()
    registered = base.format(emu=emulators.state.url, port=emulators.state.url.rsplit(":", 1)[1])
    config = poller_config(settings, {"acme": [registered]}, allow_private_networks=False)
    job_id = f"loopback-{uuid.uuid4().hex[:10]}"
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post("/jobs", json={"url": f"{registered}{ds}/", "partner": "acme", "job_id": job_id})

    assert response.status_code == 422, response.text
    problem = response.json()["errors"][0]
    assert problem["field"] == "url"
    assert "is a loopback or private address" in problem["message"], problem
    assert await untouched(http, emulators, ds) == {ds: (0, {})}
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))


async def test_the_metadata_endpoint_is_refused_even_registered_and_with_private_networks_allowed(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    config = poller_config(settings, {"acme": ["http://169.254.169.254/"]}, allow_private_networks=True)
    job_id = f"metadata-{uuid.uuid4().hex[:10]}"
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post("/jobs", json={"url": METADATA_ENDPOINT, "partner": "acme", "job_id": job_id})
    assert response.status_code == 422, response.text
    assert response.json() == refusal(
        "url", "host '169.254.169.254' resolves to 169.254.169.254 is link-local (the cloud metadata endpoint's range)"
    )
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))


async def test_an_unknown_job_is_404(dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker) -> None:
    async with serving_api(dev_env, poller_config(settings, {}), sessions) as api:
        response = await api.get("/jobs/never-submitted")
    assert response.status_code == 404
    assert response.json() == {"detail": "no poller job 'never-submitted'", "errors": []}


async def test_the_same_job_id_is_the_same_job_and_with_another_url_a_conflict(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    ds, other = new_dataset(), new_dataset()
    config = poller_config(settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    job_id = f"same-{uuid.uuid4().hex[:10]}"
    body = {"url": dataset_url(emulators, ds), "partner": "acme", "job_id": job_id}
    wid = job_workflow_id(job_id)
    try:
        async with serving_api(dev_env, config, sessions) as api:
            first = await api.post("/jobs", json=body)
            run_id = (await dev_env.client.get_workflow_handle(wid).describe()).run_id
            second = await api.post("/jobs", json=body)
            conflicting = await api.post("/jobs", json={**body, "url": dataset_url(emulators, other)})
            status = await api.get(f"/jobs/{job_id}")
            listed = await api.get("/jobs", params={"partner": "acme"})
        after = await dev_env.client.get_workflow_handle(wid).describe()
    finally:
        await end_jobs(dev_env.client, job_id)

    assert (first.status_code, second.status_code, conflicting.status_code) == (202, 202, 409)
    assert first.json()["created"] is True and second.json()["created"] is False
    assert first.json()["job_id"] == second.json()["job_id"] == job_id
    assert first.json()["workflow_id"] == second.json()["workflow_id"] == wid
    assert first.headers["Location"] == first.json()["status_url"] == second.json()["status_url"]
    assert first.json()["status_url"].endswith(f"/jobs/{job_id}")
    assert after.run_id == run_id  # the second start found the first execution, started no other
    assert conflicting.json() == {
        "detail": f"job {job_id!r} was started before with another partner or URL",
        "errors": [],
    }
    # No worker polls this test's queue: the job exists but has not prepared yet.
    assert status.status_code == 200 and status.json()["status"] == "PREPARING"
    assert status.json()["job_id"] == job_id and status.json()["workflow_id"] == wid
    assert listed.status_code == 200
    # Nothing but the preflight's one metadata request per accepted start (none for the conflict's pages).
    assert (await untouched(http, emulators, ds))[ds] == (2, {})
    assert (await untouched(http, emulators, other))[other][1] == {}


async def test_a_job_without_an_id_gets_a_new_one_each_time(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker, emulators: Any
) -> None:
    ds = new_dataset()
    config = poller_config(settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    body = {"url": dataset_url(emulators, ds), "partner": "acme"}
    started: list[str] = []
    try:
        async with serving_api(dev_env, config, sessions) as api:
            for _ in range(2):
                response = await api.post("/jobs", json=body)
                assert response.status_code == 202, response.text
                assert response.json()["created"] is True
                started.append(response.json()["job_id"])
    finally:
        await end_jobs(dev_env.client, *started)
    assert len(set(started)) == 2


# ----- schedules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("10x", "must be a number and a unit: 30m, 1h, 1d"),
        ("m", "must be a number and a unit: 30m, 1h, 1d"),
        ("30s", "must be from 1m to 31d"),
        ("32d", "must be from 1m to 31d"),
        ("0m", "must be from 1m to 31d"),
    ],
)
async def test_a_schedule_with_a_bad_interval_is_422_naming_every_and_nothing_is_created(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
    every: str,
    message: str,
) -> None:
    partner, ds = f"sched_{uuid.uuid4().hex[:8]}", new_dataset()
    config = poller_config(settings, {partner: [f"{emulators.state.url}/partner-api/"]})
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post(
            "/poller-schedules", json={"partner": partner, "url": dataset_url(emulators, ds), "every": every}
        )
    assert response.status_code == 422, response.text
    assert response.json() == refusal("every", message)
    assert not await schedule_exists(dev_env.client, partner)
    assert await untouched(http, emulators, ds) == {ds: (0, {})}


@pytest.mark.parametrize(
    ("template", "registered", "field", "message"),
    [
        ("{emu}/partner-api/{other}/", True, "url", "not under a base URL registered for partner"),
        (METADATA_ENDPOINT, True, "url", "not under a base URL registered for partner"),
        ("{emu}/partner-api/{ds}/?x=1", True, "url", "must not carry a query or a fragment"),
        ("{emu}/partner-api/{ds}/", False, "partner", "is not a registered partner of the poller"),
    ],
)
async def test_a_schedule_with_a_refused_url_or_partner_is_422_and_nothing_is_created(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
    two_datasets: tuple[str, str],
    template: str,
    registered: bool,
    field: str,
    message: str,
) -> None:
    ds, other = two_datasets
    partner = f"sched_{uuid.uuid4().hex[:8]}"
    config = poller_config(settings, {partner: [dataset_url(emulators, ds)]} if registered else {})
    url = _fill(template, emulators, ds, other)
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post("/poller-schedules", json={"partner": partner, "url": url, "every": "1h"})
    assert response.status_code == 422, response.text
    problem = response.json()["errors"][0]
    assert problem["field"] == field and message in problem["message"], problem
    assert not await schedule_exists(dev_env.client, partner)
    assert await untouched(http, emulators, ds, other) == {ds: (0, {}), other: (0, {})}


async def test_a_schedule_whose_metadata_redirects_is_refused_and_nothing_is_created(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    partner, ds = f"sched_{uuid.uuid4().hex[:8]}", new_dataset()
    await configure(http, emulators, ds, redirect_to=METADATA_ENDPOINT)
    config = poller_config(settings, {partner: [f"{emulators.state.url}/partner-api/"]})
    async with serving_api(dev_env, config, sessions) as api:
        response = await api.post(
            "/poller-schedules", json={"partner": partner, "url": dataset_url(emulators, ds), "every": "1h"}
        )
    assert response.status_code == 422, response.text
    assert response.json() == refusal("url", f"redirects to {METADATA_ENDPOINT}; the poller follows no redirects")
    assert not await schedule_exists(dev_env.client, partner)
    assert await untouched(http, emulators, ds) == {ds: (1, {})}


async def test_deleting_a_schedule_nobody_created_is_404(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> None:
    partner = f"sched_{uuid.uuid4().hex[:8]}"
    async with serving_api(dev_env, poller_config(settings, {}), sessions) as api:
        response = await api.delete(f"/poller-schedules/{partner}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"no synchronisation schedule for {partner!r}", "errors": []}
