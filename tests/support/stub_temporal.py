"""Stand-ins for a Temporal client in tests of views that combine Postgres with a workflow.

The views call ``client.get_workflow_handle(id)``, then ``describe()`` and ``query(...)``
on the handle; a test hands in a handle whose answers (and side effects, such as a row
committed mid-view) it controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode


@dataclass
class Described:
    """What ``describe()`` returns: the status, and the owner the memo carries (if any)."""

    status: WorkflowExecutionStatus
    owner: str | None = None
    raw_description: Any = field(default_factory=lambda: SimpleNamespace(pending_activities=[]))

    async def memo(self) -> dict[str, Any]:
        return {"owner": self.owner} if self.owner is not None else {}

    async def memo_value(self, key: str, default: Any = None) -> Any:
        return (await self.memo()).get(key, default)


class GoneWorkflow:
    """A workflow Temporal no longer holds (retention over) or never held."""

    async def describe(self) -> None:
        raise RPCError("not found", RPCStatusCode.NOT_FOUND, b"")

    async def query(self, *args: Any, **kwargs: Any) -> None:
        raise RPCError("not found", RPCStatusCode.NOT_FOUND, b"")


class OneWorkflowClient:
    """Hands out the same handle for every workflow id, and records the ids asked for."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.asked: list[str] = []

    def get_workflow_handle(self, workflow_id: str) -> Any:
        self.asked.append(workflow_id)
        self._handle.id = workflow_id  # as a real handle carries its workflow id
        return self._handle
