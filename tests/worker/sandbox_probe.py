"""Probe workflows for the worker's sandbox runner: one reads the wall clock (the sandbox
must refuse it), one sends payloads through an activity and a local activity."""

from __future__ import annotations

import datetime
from datetime import timedelta

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


@workflow.defn
class EchoesThroughActivities:
    """Sends a payload through a task-queue activity and a local activity (``echo``, by name)."""

    @workflow.run
    async def run(self, text: str) -> str:
        timeout = timedelta(seconds=10)
        remote: str = await workflow.execute_activity("echo", text, start_to_close_timeout=timeout)
        local: str = await workflow.execute_local_activity("echo", remote, start_to_close_timeout=timeout)
        return local
