"""The committed B2B histories replay on today's workflow code.

A failure means a workflow change is not compatible with executions that may be
running: guard it with ``workflow.patched`` rather than re-recording the history
(``python -m tests.histories.record_b2b``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

HISTORIES = sorted((Path(__file__).parents[2] / "histories").glob("b2b_*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_b2b_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(history)


def test_every_b2b_scenario_has_a_recorded_history() -> None:
    scenarios = {
        "b2b_batch_completed",
        "b2b_batch_quarantined",
        "b2b_batch_continued_as_new",
        "b2b_transaction_stored",
        "b2b_transaction_quarantined",
        "b2b_transaction_failed",
    }
    # Recorded on today's code, and before the steps ran under step control (patched); a
    # transaction whose admission formatted it runs no format step.
    before = {f"{name}_before_step_control" for name in scenarios}
    assert {p.stem for p in HISTORIES} >= scenarios | before | {"b2b_transaction_stored_formatted_at_admission"}
