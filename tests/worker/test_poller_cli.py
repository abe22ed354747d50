"""`stepwise poller`: bad input is one line on stderr naming the option and a non-zero exit, nothing fetched.

Each test runs the CLI as a child process with the poller's settings in its environment
(``STEPWISE_POLLER__PARTNERS`` as JSON), as an operator's shell would, and judges the
refusal by what the partner emulator saw and by Temporal having no ``poller-<job id>``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.poller.contracts import JOB_ID_PATTERN, job_workflow_id
from tests.support.b2b import isolated_resources
from tests.support.poller import (
    PARTNER,
    configure,
    dataset_url,
    new_dataset,
    poller_settings,
    poller_worker,
    record_count,
)
from tests.support.processes import stack_env, stepwise
from tests.worker.test_poller_api import METADATA_ENDPOINT, end_jobs, untouched, workflow_exists
from worker.settings import Settings


def poller_env(
    env: WorkflowEnvironment, settings: Settings, partners: dict[str, list[str]], *, private: bool = True
) -> dict[str, str]:
    """The CLI's environment: the test stack, and the poller allowed ``partners``' base URLs."""
    return stack_env(
        env,
        settings,
        STEPWISE_POLLER__PARTNERS=json.dumps(partners),
        STEPWISE_POLLER__ALLOW_PRIVATE_NETWORKS="true" if private else "false",
        STEPWISE_POLLER__RETENTION_SCHEDULE="false",
    )


async def cli(*args: str, env: dict[str, str]) -> Any:
    return await asyncio.to_thread(stepwise, *args, env=env)


BAD_STARTS = [
    # (url template, partner, the line after "stepwise: "); {emu} is the emulator, {ds} acme's
    # registered data set, {other} a data set on the same server that acme may not fetch.
    ("partner-api/{ds}/", "acme", "URL: must be an http:// or https:// URL"),
    ("http://[::1/partner-api/{ds}/", "acme", "URL: not a URL (Invalid IPv6 URL)"),
    ("http://169.254.169.254/", "acme", "URL: not under a base URL registered for partner 'acme'"),
    ("{emu}/partner-api/{other}/", "acme", "URL: not under a base URL registered for partner 'acme'"),
    ("{emu_localhost}/partner-api/{ds}/", "acme", "URL: not under a base URL registered for partner 'acme'"),
    ("{emu_userinfo}/partner-api/{ds}/", "acme", "URL: must not carry user info"),
    (
        "{emu}/partner-api/{ds}/?page=1",
        "acme",
        "URL: must not carry a query or a fragment (it is the API's base URL)",
    ),
    ("{emu}/partner-api/{ds}/../{other}/", "acme", "URL: must not contain '.' or '..' path segments"),
    ("{emu}/partner-api/{ds}/metadata", "acme", "URL: must be the API's base URL, ending in '/'"),
    ("{emu}/partner-api/{ds}/", "initech", "--partner: 'initech' is not a registered partner of the poller"),
    ("{emu}/partner-api/{ds}/", "Ac.me", "--partner: not a partner id"),
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


@pytest.mark.parametrize(("template", "partner", "line"), BAD_STARTS)
async def test_a_refused_start_is_one_line_naming_the_option_and_nothing_is_fetched(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    emulators: Any,
    http: httpx.AsyncClient,
    template: str,
    partner: str,
    line: str,
) -> None:
    ds, other = new_dataset(), new_dataset()
    env = poller_env(dev_env, settings, {"acme": [dataset_url(emulators, ds)]})
    job_id = f"cli-{uuid.uuid4().hex[:10]}"
    url = _fill(template, emulators, ds, other)
    result = await cli("poller", "start", url, "--partner", partner, "--job-id", job_id, env=env)

    assert result.returncode == 2  # refused, nothing started
    assert result.stderr.strip() == f"stepwise: {line}", result.stderr
    assert result.stdout == ""
    assert await untouched(http, emulators, ds, other) == {ds: (0, {}), other: (0, {})}
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))


async def test_a_start_whose_metadata_redirects_is_one_line_and_no_job_starts(
    dev_env: WorkflowEnvironment, settings: Settings, emulators: Any, http: httpx.AsyncClient
) -> None:
    ds = new_dataset()
    await configure(http, emulators, ds, redirect_to=METADATA_ENDPOINT)
    env = poller_env(dev_env, settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    job_id = f"cli-{uuid.uuid4().hex[:10]}"
    result = await cli("poller", "start", dataset_url(emulators, ds), "--partner", "acme", "--job-id", job_id, env=env)

    assert result.returncode == 2  # refused, nothing started
    assert result.stderr.strip() == (
        f"stepwise: URL: redirects to {METADATA_ENDPOINT}; the poller follows no redirects"
    ), result.stderr
    assert await untouched(http, emulators, ds) == {ds: (1, {})}  # the one refused metadata request
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))


async def test_a_partner_on_a_loopback_address_is_refused_without_private_networks(
    dev_env: WorkflowEnvironment, settings: Settings, emulators: Any, http: httpx.AsyncClient
) -> None:
    ds = new_dataset()
    env = poller_env(dev_env, settings, {"acme": [f"{emulators.state.url}/partner-api/"]}, private=False)
    job_id = f"cli-{uuid.uuid4().hex[:10]}"
    result = await cli("poller", "start", dataset_url(emulators, ds), "--partner", "acme", "--job-id", job_id, env=env)

    assert result.returncode == 2  # refused, nothing started
    assert result.stderr.strip() == (
        "stepwise: URL: host '127.0.0.1' resolves to 127.0.0.1 is a loopback or private address"
    ), result.stderr
    assert await untouched(http, emulators, ds) == {ds: (0, {})}
    assert not await workflow_exists(dev_env.client, job_workflow_id(job_id))


async def test_a_bad_job_id_is_one_line_naming_the_option(
    dev_env: WorkflowEnvironment, settings: Settings, emulators: Any, http: httpx.AsyncClient
) -> None:
    ds = new_dataset()
    env = poller_env(dev_env, settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    result = await cli("poller", "start", dataset_url(emulators, ds), "--partner", "acme", "--job-id", "a b", env=env)
    assert result.returncode == 2  # refused, nothing started
    assert result.stderr.strip() == f"stepwise: --job-id: must match {JOB_ID_PATTERN}", result.stderr
    assert await untouched(http, emulators, ds) == {ds: (0, {})}


async def test_a_missing_partner_option_is_one_line_naming_it(
    dev_env: WorkflowEnvironment, settings: Settings, emulators: Any
) -> None:
    env = poller_env(dev_env, settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    result = await cli("poller", "start", dataset_url(emulators, new_dataset()), env=env)
    assert result.returncode == 2  # refused, nothing started
    assert len(result.stderr.strip().splitlines()) == 1 and "--partner" in result.stderr, result.stderr


@pytest.mark.parametrize("job_id", ["nope", "acme.never-started", "a b"])
async def test_status_of_an_unknown_job_is_one_line(
    dev_env: WorkflowEnvironment, settings: Settings, job_id: str
) -> None:
    result = await cli("poller", "status", job_id, env=poller_env(dev_env, settings, {}))
    assert (result.returncode, result.stderr.strip()) == (1, f"stepwise: no poller job {job_id!r}")
    assert result.stdout == ""


async def test_the_same_job_id_with_another_url_is_one_line_and_the_first_job_is_kept(
    dev_env: WorkflowEnvironment, settings: Settings, emulators: Any
) -> None:
    ds, other = new_dataset(), new_dataset()
    env = poller_env(dev_env, settings, {"acme": [f"{emulators.state.url}/partner-api/"]})
    job_id = f"cli-{uuid.uuid4().hex[:10]}"
    try:
        first = await cli(
            "poller", "start", dataset_url(emulators, ds), "--partner", "acme", "--job-id", job_id, "--json", env=env
        )
        again = await cli(
            "poller", "start", dataset_url(emulators, ds), "--partner", "acme", "--job-id", job_id, "--json", env=env
        )
        other_url = await cli(
            "poller", "start", dataset_url(emulators, other), "--partner", "acme", "--job-id", job_id, env=env
        )
    finally:
        await end_jobs(dev_env.client, job_id)

    assert (first.returncode, again.returncode) == (0, 0), (first.stderr, again.stderr)
    # No worker polls this test's queue: the job exists and has not prepared yet.
    for result in (first, again):
        view = json.loads(result.stdout)
        assert (view["job_id"], view["workflow_id"], view["status"]) == (job_id, job_workflow_id(job_id), "PREPARING")
    assert other_url.returncode == 2
    assert other_url.stderr.strip() == (f"stepwise: job {job_id!r} was started before with another partner or URL"), (
        other_url.stderr
    )


@pytest.fixture(scope="module")
def cli_resources(aws_endpoint: str) -> Resources:
    """This module's own payload queue and bucket, for the in-process worker."""
    return isolated_resources()


async def test_start_with_wait_follows_the_job_to_its_end_and_status_shows_its_counts(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    cli_resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    emulators: Any,
    http: httpx.AsyncClient,
) -> None:
    ds = new_dataset()
    await configure(http, emulators, ds, records=40, page_size=10)
    config = poller_settings(settings, cli_resources, emulators)
    env = poller_env(dev_env, settings, dict(config.poller.partners))
    job_id = f"cli-wait-{uuid.uuid4().hex[:8]}"
    async with poller_worker(dev_env.client, config, sessions, cli_resources, aws, partner_http):
        waited = await cli(
            "poller", "start", dataset_url(emulators, ds), "--partner", PARTNER, "--job-id", job_id, "--wait", env=env
        )
    status = await cli("poller", "status", job_id, "--json", env=env)

    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.splitlines()[0] == f"poller job {job_id}: COMPLETED"
    counts = json.loads(waited.stdout.splitlines()[1])
    assert (counts["SuccessfullyCompleted"], counts["FailedToComplete"], counts["Total"]) == (4, 0, 4)
    # --wait printed the counts to stderr as they changed, ending with every page stored.
    progress = [line for line in waited.stderr.splitlines() if line.startswith(f"{job_id}: ")]
    assert progress and json.loads(progress[-1].split(": ", 1)[1]) == counts
    assert status.returncode == 0, status.stderr
    view = json.loads(status.stdout)
    assert (view["status"], view["partner"], view["url"], view["pages"]) == (
        "COMPLETED",
        PARTNER,
        dataset_url(emulators, ds),
        4,
    )
    assert await record_count(sessions, PARTNER, ds) == 40
