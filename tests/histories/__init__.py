"""Committed workflow histories, replayed by the replay tests (and the scripts that record them)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

HISTORIES_DIR = Path(__file__).resolve().parent


def committed_history(name: str) -> WorkflowHistory:
    """The committed history ``<name>.json``, under its file name as the workflow id."""
    return WorkflowHistory.from_json(name, (HISTORIES_DIR / f"{name}.json").read_text())
