"""The recorded media histories replay on today's MediaWorkflow (tests/histories/media_*.json).

A failure means a change to the workflow is not compatible with executions that may be
running: guard it with ``workflow.patched`` rather than re-recording the history
(``python -m tests.histories.record_media`` writes them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.runner import TEST_RUNNER
from workflows.media.workflow import MediaWorkflow

HISTORIES = sorted((Path(__file__).parents[2] / "histories").glob("media_*.json"))


def test_both_outcomes_are_recorded() -> None:
    assert [p.stem for p in HISTORIES] == [
        "media_completed",
        "media_completed_before_step_control",
        "media_transcription_failed",
        "media_transcription_failed_before_step_control",
    ]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_media_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=[MediaWorkflow], workflow_runner=TEST_RUNNER).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
