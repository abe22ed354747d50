"""A workflow that tries to read the wall clock: the sandbox must refuse it."""

from __future__ import annotations

import datetime

from temporalio import workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError


@workflow.defn
class ReadsTheWallClock:
    @workflow.run
    async def run(self) -> str:
        try:
            datetime.datetime.now()
        except RestrictedWorkflowAccessError as refused:
            return f"refused: {refused}"
        return "allowed"
