"""Recorded reconciliation histories replay against today's workflow code.

``recon-demo-parent.json``: the demo run with an invalid sign-off signal and an
approval by update. ``recon-demo-environment.json``: the candidate's environment with
a restore that parked and was retried by an operator. ``recon_campaign_*.json``: a
campaign's own history (``python -m tests.histories.record_recon`` writes them), one where
every client completes and one where a client waits for sign-off, freeing its slot, while
the next one fails. A change to the workflows that would break running executions fails
here: guard it with ``workflow.patched`` rather than re-recording a history.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.histories.record_recon import RECORDED_WORKFLOW_IDS as CAMPAIGN_IDS
from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS
from workflows.recon.reconciliation import CAMPAIGN_SLOT_SIGNAL

HISTORY_DIR = Path(__file__).resolve().parents[2] / "histories"
RECORDED_RUN = "recon-acme-t25cc349b12"
"""The workflow id the demo histories were recorded under (child ids derive from it)."""
RECORDED_WORKFLOW_IDS = {
    "recon-demo-parent": RECORDED_RUN,
    "recon-demo-environment": f"{RECORDED_RUN}-v2",
    **CAMPAIGN_IDS,
}
"""The workflow id of each recorded history (the replay runs it under the same id)."""
HISTORIES = sorted(HISTORY_DIR / f"{name}.json" for name in RECORDED_WORKFLOW_IDS)
"""Every history this module replays."""


def _history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(RECORDED_WORKFLOW_IDS[name], (HISTORY_DIR / f"{name}.json").read_text())


def _events(name: str) -> list[EventType.ValueType]:
    return [event.event_type for event in _history(name).events]


def test_every_campaign_scenario_has_a_recorded_history() -> None:
    assert sorted(p.stem for p in HISTORY_DIR.glob("recon_campaign_*.json")) == sorted(CAMPAIGN_IDS)
    assert set(CAMPAIGN_IDS) == {"recon_campaign_completed", "recon_campaign_signed_off_and_failed"}


def test_the_campaign_histories_hold_what_they_are_named_for() -> None:
    completed = _events("recon_campaign_completed")
    assert completed.count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 3
    assert completed.count(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == 3
    assert completed[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    mixed = _history("recon_campaign_signed_off_and_failed").events
    kinds = [event.event_type for event in mixed]
    signals = [
        (i, e.workflow_execution_signaled_event_attributes.signal_name)
        for i, e in enumerate(mixed)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    starts = [
        i for i, kind in enumerate(kinds) if kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    [(signalled, signal)] = signals
    assert signal == CAMPAIGN_SLOT_SIGNAL and len(starts) == 2
    assert starts[0] < signalled < starts[1]  # one slot: the second client started once the first waited for sign-off
    assert kinds.count(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED) == 1
    assert kinds.count(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) == 1
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_reconciliation_history_replays(path: Path) -> None:
    history = await asyncio.to_thread(_history, path.stem)
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None
