"""Migrations are the only way the schema changes, and they match the models exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from worker.migrate import alembic_config


async def _admin(database_url: str, statement: str) -> None:
    engine = create_async_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    """A brand-new, empty database on the same server."""
    import asyncio

    name = f"stepwise_mig_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_upgrade_from_empty_matches_the_models_and_downgrade_empties_it(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "heads")
    command.check(config)  # raises if autogenerate would find any difference
    command.downgrade(config, "base")
    command.upgrade(config, "heads")
