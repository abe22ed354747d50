"""Embedded PostgreSQL 16 from the PyPI package pgserver, used when STEPWISE_DATABASE_URL is unset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DATABASE = "stepwise"


def start_embedded_postgres(pgdata: Path, database: str = DATABASE) -> tuple[str, Any]:
    """Start (or reuse) the server in ``pgdata``; return the asyncpg URL of ``database`` and the handle.

    The server stops when this process exits; data stays in ``pgdata``.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql+asyncpg://postgres@/{database}?host={pgdata.resolve()}", server
