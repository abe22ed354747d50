"""Recognising that Temporal or PostgreSQL cannot be reached, for the API and the CLI.

Both surfaces answer a person or a client system: an unreachable dependency becomes one
sentence naming it and its address ("Temporal at 10.0.0.5:7233 is not reachable") — an
HTTP 503 with ``Retry-After`` from the API, a one-line error from the CLI — instead of a
500 or a transport error's text. Only failures to *reach* a dependency count; a query
that Postgres refuses or a workflow Temporal does not know is not an outage.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from asyncpg.exceptions import CannotConnectNowError, PostgresConnectionError  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from temporalio.service import RPCError, RPCStatusCode

from worker.settings import Settings, SettingsError
from worker.temporal import temporal_address

TEMPORAL_OUTAGE_CODES = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
"""Codes of a frontend that is down, restarting or too slow to answer in time."""

ASYNCPG_CONNECTION_ERRORS = (PostgresConnectionError, CannotConnectNowError)
"""asyncpg's own "connection lost / refused / server starting" errors (not OSErrors)."""

POSTGRES_MODULES = ("asyncpg", "sqlalchemy")
"""Where a socket error must come from to be Postgres's (the API also calls other hosts)."""


@dataclass(frozen=True)
class Outage:
    """A dependency that could not be reached."""

    dependency: str
    """``Temporal`` or ``PostgreSQL``."""
    address: str
    """host:port that was tried."""

    def __str__(self) -> str:
        return f"{self.dependency} at {self.address} is not reachable"


def outage_of(error: BaseException, settings: Settings) -> Outage | None:
    """The outage ``error`` reports, or None when it is some other failure."""
    if _is_temporal_outage(error):
        return Outage("Temporal", _temporal_address(settings))
    if _is_postgres_outage(error):
        return Outage("PostgreSQL", postgres_address(settings))
    return None


def _is_temporal_outage(error: BaseException) -> bool:
    if isinstance(error, RPCError):
        return error.status in TEMPORAL_OUTAGE_CODES
    # A lazy client that has not managed to connect yet raises the SDK's RuntimeError;
    # worker.temporal.connect turns a failed eager connect into a ConnectionError.
    if isinstance(error, RuntimeError):
        return str(error).startswith("Failed client connect")
    return isinstance(error, ConnectionError) and str(error).startswith("Temporal at ")


def _is_postgres_outage(error: BaseException) -> bool:
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        return error.orig is not None and _is_postgres_outage(error.orig)
    if _is_asyncpg_connection_error(error):
        return True
    return isinstance(error, OSError) and _raised_in(error, POSTGRES_MODULES)


def _is_asyncpg_connection_error(error: BaseException) -> bool:
    return isinstance(error, ASYNCPG_CONNECTION_ERRORS)


def _raised_in(error: BaseException, modules: tuple[str, ...]) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return any(f"/{module}/" in frame.filename for frame in frames for module in modules)


def _temporal_address(settings: Settings) -> str:
    try:
        return temporal_address(settings)
    except SettingsError:
        return settings.temporal.address


def postgres_address(settings: Settings) -> str:
    """host:port of ``STEPWISE_DATABASE_URL`` (``unset`` when there is none)."""
    if settings.database_url is None:
        return "unset"
    url = make_url(settings.database_url.get_secret_value())
    return f"{url.host or 'localhost'}:{url.port or 5432}"
