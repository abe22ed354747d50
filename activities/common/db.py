"""The async SQLAlchemy engine and session maker, built by the composition root at start-up.

Nothing here runs at import: :func:`create_engine` is called once per process by
``worker.registry`` (or a test fixture) and the session maker is handed to the
activity classes that need Postgres.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 10, for_worker: bool = False) -> AsyncEngine:
    """An asyncpg engine; a worker's (``for_worker``) is tuned for its steady stream of short steps.

    Everywhere else (API, CLI) each pooled connection is tested before use (three round
    trips with asyncpg), so a request after a Postgres restart never meets a dead
    connection, and bursts may open up to ``pool_size`` more connections for a moment.

    A worker does neither. Every activity is retried, so a dead connection costs one
    failed attempt, after which SQLAlchemy discards the whole stale pool and the retry
    connects afresh — instead of three round trips on every step of every workflow. And
    its pool is fixed: connections beyond the pool were opened and closed per use (a new
    Postgres backend process each time) exactly when the worker was busiest; a step now
    waits a few milliseconds for a pooled connection instead.

    Connections are recycled after half an hour either way, ahead of idle timeouts.
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0 if for_worker else pool_size,
        pool_pre_ping=not for_worker,
        pool_recycle=1800,
    )


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: SessionMaker) -> AsyncEngine:
    """The engine a session maker is bound to."""
    engine: AsyncEngine = sessions.kw["bind"]
    return engine


def transaction(sessions: SessionMaker) -> AbstractAsyncContextManager[AsyncConnection]:
    """A Core transaction on the session maker's engine, committed on success.

    For steps whose few statements must commit together, or not at all: an ORM session's
    unit of work would only add per-call overhead on the worker's busiest thread.
    """
    return engine_of(sessions).begin()


@asynccontextmanager
async def autocommit(sessions: SessionMaker) -> AsyncIterator[AsyncConnection]:
    """A connection on which each statement commits by itself.

    One round trip per statement instead of BEGIN, statement, COMMIT: for steps whose
    statements each stand alone — an idempotent insert, a conditional update, a read.
    """
    async with engine_of(sessions).connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
