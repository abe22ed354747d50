"""What every CLI command shares: one-line errors, JSON output, a Temporal client."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from worker.settings import Settings, load_settings

if TYPE_CHECKING:
    from activities.common.db import SessionMaker

T = TypeVar("T")


class CliError(Exception):
    """A failure the CLI reports as one line and a non-zero exit."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def settings() -> Settings:
    """Settings from the environment (errors become one line)."""
    return load_settings()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine."""
    return asyncio.run(coroutine)


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    typer.echo(json.dumps(value, default=_default, indent=2, sort_keys=True))


@asynccontextmanager
async def database_sessions() -> AsyncIterator[SessionMaker]:
    """A session maker on the configured database for one command (one connection)."""
    from activities.common.db import create_engine, create_session_maker

    engine = create_engine(settings().require_database_url(), pool_size=1)
    try:
        yield create_session_maker(engine)
    finally:
        await engine.dispose()
