"""Embedded PostgreSQL 16 from the PyPI package pgserver, used when STEPWISE_DATABASE_URL is unset."""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

DATABASE = "stepwise"


class EmbeddedPostgres:
    """pgserver's handle, stopped once: by :meth:`cleanup`, or at exit if nobody called it."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def cleanup(self) -> None:
        """Stop the server (the data stays) and drop pgserver's exit handler.

        That handler would run again at interpreter exit and log, by then often into a
        stream already closed (pytest's captured stderr): a "--- Logging error ---"
        traceback after the test summary.
        """
        self.server.cleanup()
        atexit.unregister(self.server._cleanup)


def start_embedded_postgres(pgdata: Path, database: str = DATABASE) -> tuple[str, EmbeddedPostgres]:
    """Start (or reuse) the server in ``pgdata``; return the asyncpg URL of ``database`` and the handle.

    The server stops at :meth:`EmbeddedPostgres.cleanup` or when this process exits; data stays in ``pgdata``.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql+asyncpg://postgres@/{database}?host={pgdata.resolve()}", EmbeddedPostgres(server)
