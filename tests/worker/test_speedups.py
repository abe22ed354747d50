"""The worker's speed-ups go off together with one setting, back to the SDK's stock behaviour."""

from __future__ import annotations

import gc

import pytest
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker import speedups
from worker.settings import Settings
from worker.speedups.sandbox import StepwiseSandboxRunner


def test_the_setting_is_on_by_default_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEPWISE_WORKER__SDK_SPEEDUPS", raising=False)
    assert Settings().worker.sdk_speedups is True
    monkeypatch.setenv("STEPWISE_WORKER__SDK_SPEEDUPS", "false")
    assert Settings().worker.sdk_speedups is False


def test_switched_off_the_worker_runs_the_stock_sandbox_runner() -> None:
    assert type(speedups.workflow_runner(False)) is SandboxedWorkflowRunner
    assert isinstance(speedups.workflow_runner(True), StepwiseSandboxRunner)


def test_switched_off_the_heap_keeps_cpythons_collection_thresholds() -> None:
    before = gc.get_threshold()
    speedups.once_started(False)
    assert gc.get_threshold() == before
