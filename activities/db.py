"""The async SQLAlchemy engine and session maker, built by the composition root at start-up.

Nothing here runs at import: :func:`create_engine` is called once per process by
``worker.registry`` (or a test fixture) and the session maker is handed to the
activity classes that need Postgres.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine that checks connections before use (Postgres restarts happen)."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: SessionMaker) -> AsyncEngine:
    """The engine a session maker is bound to."""
    engine: AsyncEngine = sessions.kw["bind"]
    return engine


def transaction(sessions: SessionMaker) -> AbstractAsyncContextManager[AsyncConnection]:
    """A Core transaction on the session maker's engine, committed on success.

    For steps whose work is one or two plain statements: an ORM session's unit of work
    would only add per-call overhead on the worker's busiest thread.
    """
    return engine_of(sessions).begin()
