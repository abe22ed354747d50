"""Migrations are the only way the schema changes, and they match the models exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from tests.support.postgres import admin_now
from worker.migrate import alembic_config


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    """A brand-new, empty database on the same server."""
    name = f"stepwise_mig_{uuid.uuid4().hex[:12]}"
    admin_now(database_url, f'CREATE DATABASE "{name}"')
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    admin_now(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_from_empty_matches_the_models_and_downgrade_empties_it(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "heads")
    command.check(config)  # raises if autogenerate would find any difference
    command.downgrade(config, "base")
    command.upgrade(config, "heads")
