"""The worker's speed-ups go off together with one setting, back to the SDK's stock behaviour."""

from __future__ import annotations

import asyncio
import gc
import sys
from importlib import _bootstrap_external  # type: ignore[attr-defined]
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.histories import committed_history
from worker import speedups
from worker.settings import Settings
from worker.speedups.bytecode import HELD_WORKFLOW_CODE, HeldWorkflowCode
from worker.speedups.sandbox import StepwiseSandboxRunner
from workflows.booking.workflow import BookingWorkflow


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


def _replay_booking_counting_reads() -> tuple[list[str], list[str]]:
    """Replay a committed booking twice; the files read and the modules executed by the second."""
    reads: list[str] = []
    executed: list[str] = []
    read = _bootstrap_external.FileLoader.get_data
    execute = _bootstrap_external._LoaderBasics.exec_module

    def reading(loader: Any, path: str) -> bytes:
        reads.append(path)
        return read(loader, path)

    def executing(loader: Any, module: ModuleType) -> None:
        executed.append(module.__name__)
        execute(loader, module)

    history = committed_history("booking_confirmed")
    replayer = Replayer(workflows=[BookingWorkflow], workflow_runner=speedups.workflow_runner(True))
    asyncio.run(replayer.replay_workflow(history))  # the first run loads what every run needs
    with pytest.MonkeyPatch.context() as loaders:
        loaders.setattr(_bootstrap_external.FileLoader, "get_data", reading)
        loaders.setattr(_bootstrap_external._LoaderBasics, "exec_module", executing)
        asyncio.run(replayer.replay_workflow(history))
    return reads, executed


def test_held_workflow_code_is_executed_afresh_for_every_run_without_reading_the_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own_modules = {"workflows", "workflows.booking", "workflows.booking.workflow"}
    others = [finder for finder in sys.meta_path if not isinstance(finder, HeldWorkflowCode)]

    # Without held code, each run's re-import reads the workflow modules' bytecode from disk.
    monkeypatch.setattr(sys, "meta_path", others)
    reads, executed = _replay_booking_counting_reads()
    assert own_modules <= set(executed)
    assert any("workflows" in Path(path).parts for path in reads), reads

    held = HeldWorkflowCode()
    held.hold(BookingWorkflow.__module__)
    assert held.held() == own_modules
    monkeypatch.setattr(sys, "meta_path", [held, *others])
    reads, executed = _replay_booking_counting_reads()
    assert own_modules <= set(executed), "the sandbox must still run the workflow module afresh"
    assert [path for path in reads if "workflows" in Path(path).parts] == []


def test_held_code_answers_only_for_the_modules_it_holds() -> None:
    held = HeldWorkflowCode()
    held.hold(BookingWorkflow.__module__)
    assert held.find_spec("workflows.media.workflow") is None
    assert held.find_spec("json") is None
    spec = held.find_spec("workflows.booking")
    assert spec is not None and spec.submodule_search_locations, "a package keeps its search path"
    assert spec.origin == sys.modules["workflows.booking"].__file__


def test_before_polling_puts_the_process_finder_first_only_when_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "meta_path", [finder for finder in sys.meta_path if finder is not HELD_WORKFLOW_CODE])
    speedups.before_polling([BookingWorkflow], False)
    assert HELD_WORKFLOW_CODE not in sys.meta_path
    speedups.before_polling([BookingWorkflow], True)
    assert sys.meta_path[0] is HELD_WORKFLOW_CODE
    assert "workflows.booking.workflow" in HELD_WORKFLOW_CODE.held()
    speedups.before_polling([BookingWorkflow], True)
    assert sys.meta_path.count(HELD_WORKFLOW_CODE) == 1
