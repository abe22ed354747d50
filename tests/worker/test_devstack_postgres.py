"""A pytest session on the embedded PostgreSQL ends with its summary, not a logging traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SESSION = """
from tests.conftest import database_url  # noqa: F401
from worker.settings import TelemetrySettings
from worker.telemetry import configure_logging


def test_logs_to_the_captured_stderr(database_url: str) -> None:
    configure_logging(TelemetrySettings(log_level="INFO", log_format="text"))  # as an in-process API or worker does
    assert "host=" in database_url
"""


@pytest.mark.timeout(120)
def test_a_session_on_the_embedded_postgres_ends_without_a_logging_error(tmp_path: Path) -> None:
    (tmp_path / "test_embedded.py").write_text(SESSION)
    env = {k: v for k, v in os.environ.items() if k != "STEPWISE_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    session = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--rootdir={ROOT}",
            str(tmp_path / "test_embedded.py"),
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'inner'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=110,
    )
    output = session.stdout + session.stderr
    assert session.returncode == 0, output
    assert "1 passed" in output
    assert "Logging error" not in output


IMPORT_PGSERVER = """
import sys
from pathlib import Path

from worker.devstack.postgres import give_pgserver_a_runtime_dir

give_pgserver_a_runtime_dir(Path(sys.argv[1]))
import pgserver  # noqa: E402,F401  (it asks platformdirs for the runtime directory on import)
"""


def test_pgserver_imports_without_a_runtime_dir_warning_where_xdg_runtime_dir_is_unset(tmp_path: Path) -> None:
    # `make run` on a server or CI machine: no XDG_RUNTIME_DIR, a relative state dir (.stepwise/pgdata).
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    imported = subprocess.run(
        [sys.executable, "-W", "error", "-c", IMPORT_PGSERVER, ".stepwise/pgdata"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    runtime_dir = tmp_path / ".stepwise" / "run"
    assert runtime_dir.is_dir()
    assert runtime_dir.stat().st_mode & 0o777 == 0o700
