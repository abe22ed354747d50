"""Every workflow type the worker registers has a committed history that a test replays.

A replay test is what makes a change that breaks running executions fail ``make test``
(README, "Rolling out a new worker version safely"); a workflow type without a history has
none. The registered types come from ``workflows.catalog``. The replay test modules
(``tests/test_replay.py`` and every ``tests/**/test_*_replay.py``) each parametrize their
replay test with a module-level ``HISTORIES``, the committed files they replay; each
history's type is read from its ``WorkflowExecutionStarted`` event. A workflow added to the
catalog without a recorded history, or a history committed without a test that replays it,
fails here.
"""

from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path

import pytest

from workflows.catalog import WORKFLOWS

TESTS = Path(__file__).resolve().parents[1]
HISTORY_DIR = TESTS / "histories"
REPLAY_MODULES = sorted([TESTS / "test_replay.py", *TESTS.rglob("test_*_replay.py")])
"""Every module that replays committed histories."""


def registered_name(workflow_class: type) -> str:
    """The name a workflow class is registered under (its ``@workflow.defn`` name)."""
    definition = getattr(workflow_class, "__temporal_workflow_definition", None)
    assert definition is not None and definition.name, f"{workflow_class} is not a workflow"
    return str(definition.name)


def workflow_type(history: Path) -> str:
    """The workflow type a committed history ran, from its WorkflowExecutionStarted event."""
    first = json.loads(history.read_text())["events"][0]
    assert first["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", f"{history.name} starts with {first}"
    name: str = first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
    return name


@functools.cache
def replayed() -> dict[Path, list[Path]]:
    """The histories each replay module replays (the list its replay test is parametrized with)."""
    found = {}
    for path in REPLAY_MODULES:
        module = importlib.import_module(".".join(path.relative_to(TESTS.parent).with_suffix("").parts))
        histories = getattr(module, "HISTORIES", None)
        assert isinstance(histories, list) and all(isinstance(p, Path) for p in histories), (
            f"{path.relative_to(TESTS.parent)}: name the histories it replays in a module-level HISTORIES list of paths"
        )
        found[path] = [p.resolve() for p in histories]
    return found


@functools.cache
def replayed_types() -> dict[str, list[str]]:
    """The replayed histories of each workflow type, by file name."""
    types: dict[str, list[str]] = {}
    for histories in replayed().values():
        for history in histories:
            types.setdefault(workflow_type(history), []).append(history.name)
    return types


def test_the_replay_modules_are_found() -> None:
    # Found in the tree: a pipeline's replay module added tomorrow is counted too.
    names = {path.relative_to(TESTS).as_posix() for path in REPLAY_MODULES}
    assert {"test_replay.py", "workflows/recon/test_recon_replay.py", "workflows/doctor/test_doctor_replay.py"} <= names


@pytest.mark.parametrize("name", sorted(registered_name(w) for w in WORKFLOWS))
def test_every_registered_workflow_has_a_replayed_history(name: str) -> None:
    assert replayed_types().get(name), (
        f"{name} is registered in workflows/catalog.py but no committed history of it is replayed: record one "
        "(tests/histories/record_*.py) and replay it in its pipeline's test_*_replay.py"
    )


def test_every_committed_history_is_replayed() -> None:
    listed = {history for histories in replayed().values() for history in histories}
    assert sorted(p.name for p in listed if not p.is_file()) == [], "replay modules list histories that do not exist"
    unreplayed = sorted(path.name for path in HISTORY_DIR.glob("*.json") if path.resolve() not in listed)
    assert unreplayed == [], f"{unreplayed}: committed, but no replay module's HISTORIES lists them"
