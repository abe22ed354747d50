"""The workflow sandbox every Stepwise worker runs its workflows in.

It is Temporal's ``SandboxedWorkflowRunner`` — same restrictions, same isolation, and
all workflow code runs inside it — with two changes to how the worker calls in:

- The SDK enters a workflow's sandbox by ``exec`` of a source string, and compiled that
  string on every entry. Here each entry snippet is compiled once per process.
- For every payload it encodes or decodes, the SDK asks the workflow instance for the
  payload's serialization context (which activity or child it belongs to), and did so by
  entering the sandbox: restricted imports and builtins switched on and off again around
  a lookup in the SDK's own bookkeeping. No workflow code runs in that lookup, so it is
  asked directly.

A booking saga called into the sandbox about forty times, thirty-three of them for
contexts, all on the thread that also runs every activity. With both changes, replaying a
recorded booking takes about a fifth less CPU (10.7 -> 8.2-8.8 ms on the benchmark VM).

The SDK's instance class is private, so ``tests/worker/test_sandbox.py`` pins what this
relies on: the sandbox still refuses a non-deterministic call, the entry code is compiled
once, and a payload codec sees exactly the contexts the stock runner gives it.
"""

from __future__ import annotations

import functools
from types import CodeType
from typing import Any, cast

from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=32)
def compiled_entry(source: str) -> CodeType:
    """The sandbox's entry code, compiled once (the SDK uses a handful of fixed snippets)."""
    return compile(source, "<workflow sandbox>", "exec")


class _StepwiseSandboxInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() takes a code object as it takes a string; the string is only compiled once.
        super()._run_code(compiled_entry(code), **extra_globals)  # type: ignore[arg-type]

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        # The SDK's object inside the sandbox answers from its own records of pending
        # commands; the stock runner would enter the sandbox just to make this call.
        in_sandbox = cast(InSandbox, self.globals_and_locals["__temporal_in_sandbox"])
        return in_sandbox.get_serialization_context(command_info)


class StepwiseSandboxRunner(SandboxedWorkflowRunner):
    """Temporal's sandboxed runner, called into without needless sandbox entries."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _StepwiseSandboxInstance(det, self.runner_class, self.restrictions)


WORKFLOW_RUNNER = StepwiseSandboxRunner()
"""The runner for ``Worker(workflow_runner=...)`` and ``Replayer(workflow_runner=...)``."""
