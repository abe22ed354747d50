"""The workflow sandbox every Stepwise worker runs its workflows in.

It is Temporal's ``SandboxedWorkflowRunner`` — same restrictions, same isolation — with
one change: the few lines of Python the sandbox executes each time the worker calls into
a workflow are compiled once per process instead of on every call.

The SDK enters a workflow's sandbox by ``exec`` of a source string: once per activation
and once per payload it encodes or decodes (to ask the workflow for the payload's
serialization context). A booking saga enters it about forty times, and compiling that
string was a fifth of the cost of each entry, all of it on the thread that runs every
workflow task and activity. What runs inside the sandbox is unchanged.

The SDK's instance class is private, so ``tests/worker/test_sandbox.py`` pins what this
relies on: the sandbox still refuses a non-deterministic call, and the entry code is
compiled once.
"""

from __future__ import annotations

import functools
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=32)
def compiled_entry(source: str) -> CodeType:
    """The sandbox's entry code, compiled once (the SDK uses a handful of fixed snippets)."""
    return compile(source, "<workflow sandbox>", "exec")


class _InstanceWithCompiledEntries(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() takes a code object as it takes a string; the string is only compiled once.
        super()._run_code(compiled_entry(code), **extra_globals)  # type: ignore[arg-type]


class StepwiseSandboxRunner(SandboxedWorkflowRunner):
    """Temporal's sandboxed runner, entering each workflow through precompiled code."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _InstanceWithCompiledEntries(det, self.runner_class, self.restrictions)


WORKFLOW_RUNNER = StepwiseSandboxRunner()
"""The runner for ``Worker(workflow_runner=...)`` and ``Replayer(workflow_runner=...)``."""
