"""How activities talk to Postgres: autocommit statements, and dead pooled connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.booking.activities import BookingActivities
from activities.booking.payments import PaymentProvider
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, autocommit, create_engine, create_session_maker, transaction
from activities.common.notify import LEDGER
from activities.common.resources import Resources
from activities.models.booking import Booking
from tests.e2e.booking_support import booking_request


def ledger_row(key: str) -> Any:
    return insert(LEDGER).values(notification_key=key, topic="t", subject="s", body="b")


async def ledger_has(sessions: SessionMaker, key: str) -> bool:
    async with autocommit(sessions) as connection:
        return await connection.scalar(select(LEDGER.c.notification_key).where(LEDGER.c.notification_key == key)) == key


async def test_an_autocommit_statement_is_committed_when_it_returns(sessions: SessionMaker) -> None:
    key = f"test:{uuid.uuid4()}"
    async with autocommit(sessions) as connection:
        await connection.execute(ledger_row(key))
        assert await ledger_has(sessions, key)  # seen from another connection before this one is done


async def test_a_transaction_commits_only_at_its_end(sessions: SessionMaker) -> None:
    key = f"test:{uuid.uuid4()}"
    async with transaction(sessions) as connection:
        await connection.execute(ledger_row(key))
        assert not await ledger_has(sessions, key)
    assert await ledger_has(sessions, key)


@pytest.fixture
async def unpinged(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A one-connection pool configured as the worker's: no ping on checkout."""
    engine = create_engine(database_url, pool_size=1, for_worker=True)
    yield engine
    await engine.dispose()


async def test_a_dead_pooled_connection_costs_one_attempt_not_the_step(
    unpinged: AsyncEngine, sessions: SessionMaker
) -> None:
    worker_sessions = create_session_maker(unpinged)
    async with autocommit(worker_sessions) as connection:
        pooled_backend = await connection.scalar(text("SELECT pg_backend_pid()"))
    async with autocommit(sessions) as admin:  # Postgres restarts, or an idle timeout ends the session
        assert await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled_backend})

    async with aiohttp.ClientSession() as http:
        steps = BookingActivities(AwsClients(), worker_sessions, Resources(), PaymentProvider(http, "http://unused"))
        request = booking_request("FL-100")
        with pytest.raises(ApplicationError) as first_attempt:
            await ActivityEnvironment().run(steps.reserve_booking, request)
        assert first_attempt.value.type == "BookingReservationError"
        assert not first_attempt.value.non_retryable  # the step's retry policy takes it from here

        await ActivityEnvironment().run(steps.reserve_booking, request)  # the retry: a fresh connection

    async with sessions() as session:
        booking = await session.get(Booking, request.request_id)
    assert booking is not None and booking.status == "RESERVED"


async def test_a_worker_keeps_its_connections_under_load(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2, for_worker=True)
    opened = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    worker_sessions = create_session_maker(engine)

    async def short_step() -> int:
        async with autocommit(worker_sessions) as connection:
            backend: int = await connection.scalar(text("SELECT pg_backend_pid() FROM pg_sleep(0.01)"))
            return backend

    try:
        for _ in range(3):  # three bursts, each five times the pool
            backends = await asyncio.gather(*(short_step() for _ in range(10)))
            assert len(set(backends)) <= 2
    finally:
        await engine.dispose()
    assert len(opened) == 2  # opened once, never closed and reopened between bursts
