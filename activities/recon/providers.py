"""Environment providers of the reconciliation: where a version's database lives and its reports run.

Every operation is "make sure it is started, then report whether it is done": a
provider that finishes synchronously (``local-postgres``) just does the work, one that
starts remote jobs (``aws-ssm``) raises the benign retryable ``OperationPending`` until
the job ends, and the activity's retry policy polls (DESIGN §4.8's retry-as-poll).

``local-postgres`` creates one real database per version on the server Stepwise's own
database lives on (the admin connection is derived from the configured URL), restores
a plain-SQL dump from S3 in committed batches (so a killed worker resumes where the
last batch committed), runs each report's SQL and streams the rows to a CSV in S3.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, engine_of
from activities.recon.contracts import (
    INVALID_RECONCILIATION,
    REPORT_INVALID,
    SNAPSHOT_INVALID,
    EnvironmentInfo,
    EnvironmentRef,
    ReportOutput,
    RestoreResult,
    RunReportInput,
)

RESTORE_BATCH = 25
"""Statements per committed restore batch (progress is heartbeated after each)."""


class EnvironmentProvider(Protocol):
    """What a version's environment must offer."""

    async def provision(self, env: EnvironmentRef) -> EnvironmentInfo:
        """Create the environment (idempotent)."""

    async def restore(self, env: EnvironmentRef, snapshot_uri: str) -> RestoreResult:
        """Load the snapshot (idempotent; resumes when it can)."""

    async def run_report(self, request: RunReportInput, sql: str, output_uri: str) -> ReportOutput:
        """Run one report and store its CSV at ``output_uri``."""

    async def teardown(self, env: EnvironmentRef) -> None:
        """Remove the environment (idempotent: nothing to remove is fine)."""


def database_url_of(sessions: SessionMaker) -> str:
    """The URL of the engine behind a session maker: local environments live on that server."""
    return engine_of(sessions).url.render_as_string(hide_password=False)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); a malformed URI is a non-retryable error."""
    match = re.fullmatch(r"s3://([^/]+)/(.*)", uri)
    if not match:
        raise ApplicationError(f"not an s3:// URI: {uri!r}", type=INVALID_RECONCILIATION, non_retryable=True)
    return match.group(1), match.group(2)


def environment_name(env: EnvironmentRef) -> str:
    """A Postgres-safe, deterministic database name for one version of one run."""
    slug = re.sub(r"[^a-z0-9]+", "_", f"{env.run_id}_{env.version}".lower()).strip("_")
    digest = hashlib.sha256(f"{env.run_id}/{env.version}".encode()).hexdigest()[:10]
    return f"recon_{slug[:40]}_{digest}"


def split_statements(script: str) -> list[str]:
    """Statements of a plain-SQL dump: each ends with ``;`` at the end of a line."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    if any(part.strip() for part in current):
        statements.append("\n".join(current))
    return statements


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


class LocalPostgresProvider:
    """A database per version on Stepwise's own Postgres server."""

    def __init__(self, database_url: str, aws: AwsClients) -> None:
        self._url = make_url(database_url).set(drivername="postgresql")
        self._aws = aws

    def _dsn(self, database: str) -> str:
        return self._url.set(database=database).render_as_string(hide_password=False)

    async def _admin(self, statement: str, *args: Any) -> Any:
        connection = await asyncpg.connect(self._dsn("postgres"))
        try:
            return await connection.fetchval(statement, *args)
        finally:
            await connection.close()

    async def provision(self, env: EnvironmentRef) -> EnvironmentInfo:
        """CREATE DATABASE unless it exists."""
        name = environment_name(env)
        if not await self._admin("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # A concurrent attempt may have created it first.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await self._admin(f'CREATE DATABASE "{name}"')
        return EnvironmentInfo(environment_id=name)

    async def restore(self, env: EnvironmentRef, snapshot_uri: str) -> RestoreResult:
        """Apply the dump in committed batches, resuming after the last committed one."""
        bucket, key = split_s3_uri(snapshot_uri)
        statements = split_statements((await self._aws.read_object(bucket, key)).decode())
        connection = await asyncpg.connect(self._dsn(environment_name(env)))
        try:
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS stepwise_restore (snapshot text PRIMARY KEY, applied integer NOT NULL)"
            )
            done = await connection.fetchval("SELECT applied FROM stepwise_restore WHERE snapshot = $1", snapshot_uri)
            resumed = int(done or 0)
            for start in range(resumed, len(statements), RESTORE_BATCH):
                batch = statements[start : start + RESTORE_BATCH]
                async with connection.transaction():
                    for statement in batch:
                        await connection.execute(statement)
                    await connection.execute(
                        "INSERT INTO stepwise_restore VALUES ($1, $2) "
                        "ON CONFLICT (snapshot) DO UPDATE SET applied = EXCLUDED.applied",
                        snapshot_uri,
                        start + len(batch),
                    )
                activity.heartbeat({"applied": start + len(batch), "total": len(statements)})
        except asyncpg.PostgresSyntaxError as error:
            raise ApplicationError(
                f"snapshot {snapshot_uri}: {error}", type=SNAPSHOT_INVALID, non_retryable=True
            ) from None
        finally:
            await connection.close()
        return RestoreResult(statements=len(statements), resumed_from=resumed)

    async def run_report(self, request: RunReportInput, sql: str, output_uri: str) -> ReportOutput:
        """Run the report, ordered by its key, and put the CSV in S3."""
        keys = ", ".join(f'"{column}"' for column in request.report.key_columns)
        query = f"SELECT * FROM ({sql.strip().rstrip(';')}) AS report ORDER BY {keys}"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        rows = 0
        connection = await asyncpg.connect(self._dsn(environment_name(request.environment)))
        try:
            async with connection.transaction(readonly=True):
                statement = await connection.prepare(query)
                writer.writerow([attribute.name for attribute in statement.get_attributes()])
                async for record in statement.cursor():
                    writer.writerow([_csv_value(value) for value in record.values()])
                    rows += 1
                    if rows % 5000 == 0:
                        activity.heartbeat({"rows": rows})
        except (asyncpg.PostgresSyntaxError, asyncpg.UndefinedColumnError, asyncpg.UndefinedTableError) as error:
            raise ApplicationError(
                f"report {request.report.name}: {error}", type=REPORT_INVALID, non_retryable=True
            ) from None
        finally:
            await connection.close()
        bucket, key = split_s3_uri(output_uri)
        await self._aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=buffer.getvalue().encode())
        return ReportOutput(report=request.report.name, uri=output_uri, rows=rows)

    async def teardown(self, env: EnvironmentRef) -> None:
        """DROP DATABASE ... WITH (FORCE): nothing of the version is left behind."""
        await self._admin(f'DROP DATABASE IF EXISTS "{environment_name(env)}" WITH (FORCE)')
