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


def give_pgserver_a_runtime_dir(pgdata: Path) -> None:
    """Point ``XDG_RUNTIME_DIR`` (unless set) at a private directory beside ``pgdata``.

    pgserver keeps its lock file in the user's runtime directory, which it asks platformdirs for
    when it is imported. Servers and CI machines often have no ``XDG_RUNTIME_DIR``, and
    platformdirs then warns on the console and falls back to ``/tmp``. It accepts the variable
    only as an absolute path to a directory of mode 0700 that the user owns, as the XDG spec
    requires, so that is what this makes.
    """
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime_dir = (pgdata.parent / "run").resolve()
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)  # mkdir's mode is masked by the umask, and an old directory keeps its own
    os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)


def start_embedded_postgres(pgdata: Path, database: str = DATABASE) -> tuple[str, EmbeddedPostgres]:
    """Start (or reuse) the server in ``pgdata``; return the asyncpg URL of ``database`` and the handle.

    The server stops at :meth:`EmbeddedPostgres.cleanup` or when this process exits; data stays in ``pgdata``.
    """
    give_pgserver_a_runtime_dir(pgdata)
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql+asyncpg://postgres@/{database}?host={pgdata.resolve()}", EmbeddedPostgres(server)
