"""B2B test helpers: an isolated set of AWS resources, partner files, waiting for outcomes.

Intake tests get resources under a prefix of their own, so the intake queue holds only
the events of that test's uploads; business ids are unique per test through a fresh
partner id.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.b2b import B2BBatch, B2BTransaction
from tests.conftest import make_deps
from worker.api.app import ApiServices, create_app
from worker.devstack.aws import apply_resources
from worker.devstack.processes import free_port
from worker.intake import B2BIntake
from worker.registry import create_worker
from worker.settings import Settings, hash_token


def new_partner() -> str:
    """A partner id no other test uses."""
    return f"p{uuid.uuid4().hex[:10]}"


def isolated_resources() -> Resources:
    """Every declared resource under a fresh prefix (own bucket, intake queue, table)."""
    resources = Resources(prefix=f"t{uuid.uuid4().hex[:8]}-")
    apply_resources(resources)
    return resources


def prefixed(settings: Settings, resources: Resources, **b2b: Any) -> Settings:
    """Settings pointing at ``resources``, with B2B overrides (short long-polls for tests)."""
    group = settings.b2b.model_copy(update={"intake_wait_seconds": 1, **b2b})
    return settings.model_copy(
        update={"aws": settings.aws.model_copy(update={"name_prefix": resources.prefix}), "b2b": group}
    )


def transactions_xml(records: Iterable[tuple[str | None, str | None]], *, declaration: bool = True) -> bytes:
    """A transactions file; ``None`` leaves the TransactionID attribute or the Notes out."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n'] if declaration else []
    parts.append("<Transactions>\n")
    for transaction_id, notes in records:
        attribute = f' TransactionID="{transaction_id}"' if transaction_id is not None else ""
        inner = f"<Notes>{notes}</Notes>" if notes is not None else ""
        parts.append(f"  <Transaction{attribute}>{inner}</Transaction>\n")
    parts.append("</Transactions>\n")
    return "".join(parts).encode()


def note(a: int, b: int) -> str:
    """The article's note for a pair of users."""
    return f"Transaction made between user {a} and user {b}."


def write_large_file(path: Path, count: int) -> Path:
    """A file of ``count`` valid records, written piece by piece (never whole in memory)."""
    with path.open("wb") as out:
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Transactions>\n')
        for start in range(0, count, 10_000):
            lines = (
                f'  <Transaction TransactionID="{i}"><Notes>{note(i % 9973, i % 7919 + 1)}</Notes></Transaction>\n'
                for i in range(start, min(count, start + 10_000))
            )
            out.write("".join(lines).encode())
        out.write(b"</Transactions>\n")
    return path


def pieces(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    """A file's bytes in pieces, as the split reads an S3 body."""
    with path.open("rb") as source:
        while data := source.read(size):
            yield data


async def put_inbound(aws: AwsClients, resources: Resources, partner: str, name: str, body: bytes) -> tuple[str, str]:
    """Drop a file in the partner's inbound folder; return its key and ETag."""
    key = f"b2b-inbound/{partner}/{name}"
    response = await aws.call("s3", "put_object", Bucket=resources.b2b_bucket, Key=key, Body=body)
    return key, str(response["ETag"]).strip('"')


async def wait_for(condition: Any, timeout: float = 60, interval: float = 0.2) -> Any:
    """Await ``condition()`` until it returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await condition()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def batch_row(sessions: SessionMaker, batch_id: str) -> B2BBatch | None:
    """The batch row, or None."""
    async with sessions() as session:
        return await session.get(B2BBatch, batch_id)


async def finished_batch(sessions: SessionMaker, batch_id: str, timeout: float = 90) -> B2BBatch:
    """Wait until the batch is COMPLETED or QUARANTINED."""

    async def done() -> B2BBatch | None:
        row = await batch_row(sessions, batch_id)
        return row if row is not None and row.status in ("COMPLETED", "QUARANTINED") else None

    row: B2BBatch = await wait_for(done, timeout)
    return row


async def transactions_of(sessions: SessionMaker, partner: str) -> dict[str, B2BTransaction]:
    """Every transaction row of a partner, by TransactionID."""
    async with sessions() as session:
        rows = (await session.scalars(select(B2BTransaction).where(B2BTransaction.partner_id == partner))).all()
    return {row.transaction_id: row for row in rows}


def trail(row: B2BTransaction) -> list[str]:
    """The statuses a transaction went through, in order."""
    return [entry["status"] for entry in row.history]


@asynccontextmanager
async def b2b_worker(
    client: Client,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    *,
    intake: bool = True,
) -> AsyncIterator[Worker]:
    """The real worker in-process, with the intake polling ``resources``' queue if asked."""
    deps = make_deps(client, sessions, resources, aws, partner_http, settings)
    worker = create_worker(client, settings, deps)
    async with worker:
        if intake:
            runner = B2BIntake(client, aws, resources, settings.worker.task_queue, settings.b2b)
            async with runner.running():
                yield worker
        else:
            yield worker


def with_tokens(settings: Settings, operator: str, partners: dict[str, str], **b2b: Any) -> Settings:
    """Settings whose API knows these tokens (stored as digests, as deployed)."""
    api = settings.api.model_copy(
        update={
            "operator_token_hashes": [hash_token(operator)],
            "partner_token_hashes": {partner: hash_token(token) for partner, token in partners.items()},
        }
    )
    return settings.model_copy(update={"api": api, "b2b": settings.b2b.model_copy(update=b2b)})


@asynccontextmanager
async def api_server(settings: Settings, client: Client, sessions: SessionMaker) -> AsyncIterator[str]:
    """The real API served over HTTP on a free port, in this event loop; yields its base URL."""
    app = create_app(settings, ApiServices(client, sessions, settings.worker.task_queue))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextmanager
def enrichment_down(emulators: Any) -> Iterator[None]:
    """The enrichment API answers 429 with ``Retry-After: 1`` until the block ends, so the
    enrich step's eight attempts run out in about seven seconds (the partner's delay sets it)."""
    api = emulators.state.enrichment
    api.throttle_next, api.retry_after = 1_000_000, "1"
    try:
        yield
    finally:
        api.throttle_next = 0


async def start_transactions(
    client: Client, task_queue: str, partner: str, count: int
) -> list[WorkflowHandle[Any, Any]]:
    """Start ``count`` transactions (``T-0``...) as the API and the batch do: their ids and search attributes."""
    from activities.b2b.batch import transaction_search_attributes
    from activities.b2b.contracts import TransactionInput
    from activities.b2b.records import transaction_workflow_id
    from workflows.b2b.transaction import B2BTransactionWorkflow

    return [
        await client.start_workflow(
            B2BTransactionWorkflow.run,
            TransactionInput(partner, f"T-{n}", note(n, n + 1)),
            id=transaction_workflow_id(partner, f"T-{n}"),
            task_queue=task_queue,
            search_attributes=transaction_search_attributes(partner, f"T-{n}"),
        )
        for n in range(count)
    ]
