"""The worker's speed-ups that lean on the Temporal SDK's and CPython's internals, in one place.

Three things make a worker cheaper per workflow task than the SDK's defaults:

- ``sandbox``: Temporal's sandboxed runner entered through code compiled once, and not at
  all to look up a payload's serialization context (it subclasses private SDK classes);
- ``bytecode``: the workflow modules' code objects taken before polling and handed to the
  sandbox's per-run re-import from memory, instead of stat, read and unmarshal (or compile)
  from the disk on every run;
- ``heap``: start-up's objects frozen and the young generation collected less often.

All three are on by default and all three go off together with
``STEPWISE_WORKER__SDK_SPEEDUPS=false``: the worker then runs Temporal's stock
``SandboxedWorkflowRunner`` with CPython's defaults. That is the way out if an SDK
upgrade breaks the private classes ``sandbox`` relies on (``temporalio`` is pinned to the
minor version the suite ran on; ``make test`` runs the workflow tests with the switch off
too).
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker.speedups.bytecode import hold_workflow_modules
from worker.speedups.heap import settle_heap
from worker.speedups.sandbox import WORKFLOW_RUNNER


def workflow_runner(enabled: bool) -> WorkflowRunner:
    """The runner for ``Worker`` and ``Replayer``: Stepwise's, or the SDK's stock one."""
    return WORKFLOW_RUNNER if enabled else SandboxedWorkflowRunner()


def before_polling(workflows: Iterable[type], enabled: bool) -> None:
    """What a worker does before it polls: hold the workflow modules' code in memory."""
    if enabled:
        hold_workflow_modules(workflows)


def once_started(enabled: bool) -> None:
    """What a worker does once start-up built everything: settle the heap."""
    if enabled:
        settle_heap()
