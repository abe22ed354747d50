"""Recorded reconciliation histories replay against today's workflow code.

``recon-demo-parent.json``: the demo run with an invalid sign-off signal and an
approval by update. ``recon-demo-environment.json``: the candidate's environment with
a restore that parked and was retried by an operator. A change to the workflows that
would break running executions fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

HISTORIES = Path(__file__).resolve().parents[2] / "histories"
RECORDED_RUN = "recon-acme-t25cc349b12"
"""The workflow id the histories were recorded under (child ids derive from it)."""


@pytest.mark.parametrize(
    ("name", "workflow_id"),
    [("recon-demo-parent", RECORDED_RUN), ("recon-demo-environment", f"{RECORDED_RUN}-v2")],
)
async def test_recorded_reconciliation_history_replays(name: str, workflow_id: str) -> None:
    history = WorkflowHistory.from_json(workflow_id, (HISTORIES / f"{name}.json").read_text())
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None
