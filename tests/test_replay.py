"""The committed booking histories under tests/histories/ replay on today's workflow code.

A failure here means a workflow change is not backwards compatible with executions that
may be running: guard it with ``workflow.patched`` (or roll it out as a new worker
version) rather than re-recording the history.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import WorkflowHistory
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Replayer

from tests.support.runner import TEST_RUNNER
from workflows.catalog import WORKFLOWS

# The media and reconciliation histories have replay tests of their own (they need their
# recorded workflow ids); these are the ones replayable under any id.
HISTORIES = sorted((Path(__file__).parent / "histories").glob("booking_*.json"))


@pytest.mark.parametrize("tracing", [False, True], ids=["untraced worker", "tracing worker"])
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path, tracing: bool) -> None:
    # Workers carry Temporal's tracing interceptor (worker.temporal), these replays
    # elsewhere do not: both replay the committed histories (tests/e2e/test_booking_trace.py
    # replays a booking whose activity carries a trace header without the interceptor).
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    interceptors = [TracingInterceptor(TracerProvider().get_tracer("replay"))] if tracing else []
    await Replayer(workflows=WORKFLOWS, workflow_runner=TEST_RUNNER, interceptors=interceptors).replay_workflow(history)


def test_every_booking_history_is_replayed() -> None:
    assert [p.stem for p in HISTORIES] == [
        "booking_confirmed",
        "booking_confirmed_reserve_as_activity",
        "booking_payment_declined",
        "booking_payment_declined_reserve_as_activity",
    ]
