"""The benchmarks' baseline: one workflow running one no-op activity, sandboxed like every workflow.

Kept in a module of its own with no other imports, because the sandbox re-imports a
workflow's module for every run: the baseline pays that cost as the pipelines do.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(value: int) -> int:
    """The baseline's one activity."""
    return value


@workflow.defn
class BenchNoopWorkflow:
    """One workflow, one no-op activity: the cheapest unit of Temporal work."""

    @workflow.run
    async def run(self, value: int) -> int:
        result: int = await workflow.execute_activity(noop, value, start_to_close_timeout=timedelta(seconds=10))
        return result
