"""The CLI's answers at its edges: dependencies down, bad numbers, starts it cannot follow, failed waits.

Each test runs `stepwise` as a child process, as an operator's shell or a client's script
would, and reads its exit code, its output and Temporal's record of what it started.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.common.resources import Resources
from tests.e2e.booking_support import new_flight
from tests.support.processes import stack_env, stepwise
from worker.devstack.processes import free_port
from worker.outages import postgres_address
from worker.services.booking import workflow_id
from worker.settings import Settings


def _booking_args(flight: str, request_id: str, *extra: str, token: str = "tok_visa") -> list[str]:
    return [
        "booking",
        "start",
        "--flight",
        flight,
        "--customer",
        "cust-1",
        "--amount",
        "120.00",
        "--currency",
        "EUR",
        "--payment-token",
        token,
        "--request-id",
        request_id,
        *extra,
    ]


def test_temporal_down_is_one_line_naming_its_address(settings: Settings) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {"TEMPORAL_ADDRESS": address, "STEPWISE_DATABASE_URL": settings.require_database_url()}

    for command in (["attention"], ["booking", "status", "b-1"], ["recon", "status", "recon-x-1"]):
        result = stepwise(*command, env=stack_env_without_temporal(env))
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr == f"stepwise: Temporal at {address} is not reachable\n", command


def test_postgres_down_is_one_line_naming_its_address(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    closed = free_port()
    env = stack_env(dev_env, settings, STEPWISE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/stepwise")

    for command in (
        ["booking", "status", "b-1"],
        ["decisions"],
        ["recon", "list"],
        ["b2b", "status", "acme", "7"],
        ["b2b", "batch", "acme", "abc"],
    ):
        result = stepwise(*command, env=env)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr == f"stepwise: PostgreSQL at 127.0.0.1:{closed} is not reachable\n", command


@pytest.mark.parametrize(
    "amount", ["1e30", "12345678901", "NaN", "-5", "1.005", "lots", "1_000", "1e2", "\u0661\u0662\u0660"]
)
def test_a_bad_amount_is_a_one_line_usage_error(amount: str) -> None:
    result = stepwise(*_booking_args("FL-100", "r-1"), "--amount", amount, env=stack_env_without_temporal({}))

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("stepwise: Invalid value for --amount:")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--customer", "c" * 201, "at most 200 characters"),
        ("--customer", "cust\n1", "must not contain control character U+000A"),
        ("--payment-token", "tok\tvisa", "must not contain control character U+0009"),
    ],
)
def test_a_customer_or_token_the_api_would_refuse_is_a_one_line_usage_error(
    option: str, value: str, message: str
) -> None:
    # The API's rule (one line, at most 200 characters): the saga would otherwise start and
    # fail at reserve_booking, whose column holds 200.
    result = stepwise(*_booking_args("FL-100", "r-1"), option, value, env=stack_env_without_temporal({}))

    assert result.returncode == 2, result.stderr
    assert result.stderr == f"stepwise: Invalid value for {option}: {message}\n"


async def test_a_start_no_worker_answers_for_exits_0_as_pending_and_the_booking_runs(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources
) -> None:
    request_id = f"pending-{uuid.uuid4().hex[:10]}"
    env = stack_env(dev_env, settings)  # a task queue of this test's own: no worker polls it

    result = await asyncio.to_thread(stepwise, *_booking_args("FL-100", request_id), env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"booking {request_id}: PENDING", f"  workflow   booking-{request_id}"]
    described = await dev_env.client.get_workflow_handle(workflow_id(request_id)).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    await dev_env.client.get_workflow_handle(workflow_id(request_id)).terminate("test done")


async def test_wait_for_a_declined_payment_exits_with_the_failed_code(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, stepwise_worker: Any
) -> None:
    request_id = f"declined-{uuid.uuid4().hex[:10]}"
    flight = new_flight(resources, seats=3)
    args = _booking_args(flight, request_id, "--wait", token="tok_declined")

    async with stepwise_worker(dev_env.client):
        result = await asyncio.to_thread(stepwise, *args, env=stack_env(dev_env, settings))

    assert result.returncode == 3, result.stderr  # EXIT_FAILED
    assert f"booking {request_id}: CANCELLED" in result.stdout
    assert "failed at  collect_payment" in result.stdout
    described = await dev_env.client.get_workflow_handle(workflow_id(request_id)).describe()
    assert described.status == WorkflowExecutionStatus.FAILED


def test_start_help_documents_the_exit_codes() -> None:
    result = stepwise("booking", "start", "--help", env=stack_env_without_temporal({}))

    assert result.returncode == 0
    assert "3 the saga failed" in " ".join(result.stdout.split())
    assert "4 the booking was cancelled" in " ".join(result.stdout.split())


def stack_env_without_temporal(extra: dict[str, str]) -> dict[str, str]:
    """The process environment plus ``extra``: for commands that must fail before reaching anything."""
    import os

    return {**os.environ, **extra}


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--provider", "nope"], "provider: one of local-postgres, aws-ssm (got 'nope')"),
        (["--max-parallel", "100000000000000000000"], "max_parallel_comparisons: at most 100"),
        (["--client", "BAD CLIENT"], "client_id: lower-case letters, digits and dashes"),
        (["--tolerance", "abc"], "tolerance: a non-negative number (got 'abc')"),
    ],
)
def test_a_bad_reconciliation_option_is_named_even_with_temporal_down(options: list[str], line: str) -> None:
    # Checked before connecting: the answer is the option, not "Temporal is not reachable".
    result = stepwise("recon", "start", "--client", "acme", *options, env=stack_env_without_temporal({}))

    assert result.returncode == 2, result.stderr
    assert result.stderr == f"stepwise: {line}\n"


async def test_a_database_never_migrated_says_to_migrate(settings: Settings) -> None:
    # The suite's own database is migrated; a fresh one beside it is not.
    url = make_url(settings.require_database_url())
    fresh = f"never_migrated_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{fresh}"'))
    try:
        fresh_url = url.set(database=fresh).render_as_string(hide_password=False)
        where = postgres_address(settings.model_copy(update={"database_url": SecretStr(fresh_url)}))
        result = await asyncio.to_thread(
            stepwise, "recon", "list", env=stack_env_without_temporal({"STEPWISE_DATABASE_URL": fresh_url})
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr == f"stepwise: PostgreSQL at {where} has no Stepwise tables: run `stepwise migrate`\n"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{fresh}"'))
        await admin.dispose()


def test_an_aws_endpoint_that_does_not_answer_is_one_line_naming_it(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    xml = tmp_path / "t.xml"
    xml.write_text("<transactions/>")
    result = stepwise(
        "b2b", "upload", str(xml), "--partner", "acme", env=stack_env_without_temporal({"AWS_ENDPOINT_URL": endpoint})
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"stepwise: AWS at {endpoint} is not reachable (s3.put_object)\n"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            [*_booking_args("FL-100", "acme.r-1")],
            "Invalid value for --request-id: ids starting 'acme.' are partner acme's: choose another id",
        ),
        (
            [
                "media",
                "start",
                "s3://stepwise-media/a.wav",
                "--language",
                "en-US",
                "--to",
                "es",
                "--job-id",
                "acme.j-1",
            ],
            "--job-id: ids starting 'acme.' are partner acme's: choose another id",
        ),
        (
            ["poller", "start", "https://partner.example/api/x/", "--partner", "acme", "--job-id", "acme.j-1"],
            "--job-id: ids starting 'acme.' are partner acme's: choose another id",
        ),
    ],
)
def test_an_id_in_a_configured_partners_namespace_is_refused_to_the_cli(args: list[str], line: str) -> None:
    # The CLI acts as an operator: as at the API, its record would be nobody's, out of acme's reach.
    partners = {
        "STEPWISE_API__PARTNER_TOKEN_HASHES": json.dumps({"acme": "0" * 64}),
        "STEPWISE_POLLER__PARTNERS": json.dumps({"acme": ["https://partner.example/api/"]}),
    }
    result = stepwise(*args, env=stack_env_without_temporal(partners))
    assert result.returncode != 0, result.stderr
    assert result.stderr == f"stepwise: {line}\n"
