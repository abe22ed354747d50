"""The local-postgres provider against the real Postgres server and the AWS emulator."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.recon.contracts import EnvironmentRef, ReportSpec, RunReportInput
from activities.recon.providers import RESTORE_BATCH, LocalPostgresProvider, database_url_of, environment_name
from tests.support.recon import read_csv

ROWS = RESTORE_BATCH * 2


def _snapshot(bad_at: int | None = None) -> bytes:
    lines = ["CREATE TABLE things (id int PRIMARY KEY, amount numeric(8,2));"]
    for i in range(1, ROWS):
        lines.append("INSERT INTO things VALUS (oops);" if i == bad_at else f"INSERT INTO things VALUES ({i}, {i}.50);")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
async def env_ref(sessions: SessionMaker, aws: AwsClients) -> Any:
    env = EnvironmentRef("local-postgres", f"recon-test-{uuid.uuid4().hex[:8]}", "v1")
    provider = LocalPostgresProvider(database_url_of(sessions), aws)
    yield env, provider
    await provider.teardown(env)


async def _count(provider: LocalPostgresProvider, env: EnvironmentRef) -> int:
    connection = await asyncpg.connect(provider._dsn(environment_name(env)))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM things"))
    finally:
        await connection.close()


async def test_restore_resumes_after_the_last_committed_batch(
    env_ref: Any, aws: AwsClients, resources: Resources
) -> None:
    env, provider = env_ref
    key = f"recon/tests/{env.run_id}.sql"
    uri = f"s3://{resources.reports_bucket}/{key}"
    await provider.provision(env)
    await provider.provision(env)  # idempotent

    # The first attempt dies inside the second batch (as a killed worker would, mid-way).
    await aws.call(
        "s3", "put_object", Bucket=resources.reports_bucket, Key=key, Body=_snapshot(bad_at=RESTORE_BATCH + 3)
    )
    beats: list[Any] = []
    activities = ActivityEnvironment()
    activities.on_heartbeat = lambda *details: beats.append(details[0])
    with pytest.raises(ApplicationError) as failure:
        await activities.run(provider.restore, env, uri)
    assert failure.value.type == "SnapshotInvalid" and failure.value.non_retryable
    assert await _count(provider, env) == RESTORE_BATCH - 1  # the first batch (with CREATE TABLE) committed
    assert beats == [{"applied": RESTORE_BATCH, "total": ROWS}]

    await aws.call("s3", "put_object", Bucket=resources.reports_bucket, Key=key, Body=_snapshot())
    result = await activities.run(provider.restore, env, uri)
    assert (result.statements, result.resumed_from) == (ROWS, RESTORE_BATCH)
    assert await _count(provider, env) == ROWS - 1
    again = await activities.run(provider.restore, env, uri)
    assert again.resumed_from == ROWS and await _count(provider, env) == ROWS - 1


async def test_a_report_streams_to_a_csv_ordered_by_its_key_and_teardown_drops_the_database(
    env_ref: Any, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    env, provider = env_ref
    key = f"recon/tests/{env.run_id}.sql"
    await aws.call("s3", "put_object", Bucket=resources.reports_bucket, Key=key, Body=_snapshot())
    await provider.provision(env)
    await ActivityEnvironment().run(provider.restore, env, f"s3://{resources.reports_bucket}/{key}")
    output_uri = f"s3://{resources.reports_bucket}/recon/tests/{env.run_id}/things.csv"
    request = RunReportInput(env, "", ReportSpec("things", ["id"], "things.sql"))
    output = await ActivityEnvironment().run(
        provider.run_report, request, "SELECT id, amount * 2 AS doubled FROM things WHERE id <= 3;", output_uri
    )
    assert output.rows == 3
    assert await read_csv(aws, output_uri) == [
        {"id": "1", "doubled": "3.00"},
        {"id": "2", "doubled": "5.00"},
        {"id": "3", "doubled": "7.00"},
    ]
    with pytest.raises(ApplicationError) as broken:
        await ActivityEnvironment().run(provider.run_report, request, "SELECT nope FROM things", output_uri)
    assert broken.value.type == "ReportInvalid"

    await provider.teardown(env)
    await provider.teardown(env)  # nothing left to drop is fine
    async with sessions() as session:
        from sqlalchemy import text

        left = await session.scalar(
            text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": environment_name(env)}
        )
    assert left == 0


async def test_restore_interrupted_between_batches_resumes_without_duplicates(
    env_ref: Any, aws: AwsClients, resources: Resources
) -> None:
    env, provider = env_ref
    key = f"recon/tests/{env.run_id}-interrupted.sql"
    uri = f"s3://{resources.reports_bucket}/{key}"
    await aws.call("s3", "put_object", Bucket=resources.reports_bucket, Key=key, Body=_snapshot())
    await provider.provision(env)

    # The attempt is cancelled right after its first committed batch, as when its worker dies.
    interrupted = ActivityEnvironment()
    interrupted.on_heartbeat = lambda *details: interrupted.cancel()
    with pytest.raises(asyncio.CancelledError):
        await interrupted.run(provider.restore, env, uri)
    assert await _count(provider, env) == RESTORE_BATCH - 1

    result = await ActivityEnvironment().run(provider.restore, env, uri)
    assert result.resumed_from == RESTORE_BATCH
    assert await _count(provider, env) == ROWS - 1
