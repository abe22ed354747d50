"""Statements on the test server's ``postgres`` database (creating and dropping databases)."""

from __future__ import annotations

import asyncio

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine


async def admin(database_url: str, *statements: str) -> None:
    """Run ``statements`` in autocommit on the server of ``database_url`` (CREATE/DROP DATABASE need it)."""
    engine = create_async_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    await engine.dispose()


def admin_now(database_url: str, *statements: str) -> None:
    """:func:`admin` from synchronous code (fixtures outside the event loop)."""
    asyncio.run(admin(database_url, *statements))
