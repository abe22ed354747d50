"""Workflow modules stay free of I/O libraries and of the worker, even transitively (DESIGN §3).

Each workflow module is imported in a fresh interpreter, which then reports every module
it loaded; none may be an I/O library or part of ``worker``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNED = ("boto3", "botocore", "sqlalchemy", "asyncpg", "aiohttp", "httpx", "worker")
WORKFLOW_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "workflows").rglob("*.py")
)

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(module: str) -> list[str]:
    """Every module in ``sys.modules`` after importing ``module`` into a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_every_workflow_module_is_found() -> None:
    # The list is built from the tree: a pipeline package added tomorrow is checked too.
    assert "workflows.booking.workflow" in WORKFLOW_MODULES
    assert "workflows.common.step_control" in WORKFLOW_MODULES
    assert len(WORKFLOW_MODULES) >= 20


@pytest.mark.parametrize("module", WORKFLOW_MODULES)
def test_workflow_module_imports_no_io_library(module: str) -> None:
    loaded = loaded_by(module)
    assert module in loaded
    offending = sorted(name for name in loaded if name.split(".")[0] in BANNED)
    assert offending == [], f"{module} pulls in {offending}"


def test_the_check_sees_a_banned_import() -> None:
    # The probe itself can fail: the activity side does load these libraries.
    loaded = loaded_by("activities.booking.activities")
    assert "sqlalchemy" in loaded
