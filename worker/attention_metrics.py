"""Gauges of executions waiting for a human, polled from visibility by the worker process.

Counters of parks and decisions come from the workflows themselves; how many are
waiting *now*, and for how long, only visibility knows. One worker per fleet is
enough to export these, but every worker doing it is harmless (the same values).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.client import Client
from temporalio.common import MetricMeter

from activities.common.search_attributes import PIPELINE
from worker.services.operations import ATTENTION_QUERY, PIPELINES, list_attention

PIPELINE_ATTRIBUTE = PIPELINE.name
OLDEST_SAMPLE = 1000
"""Executions listed to find the oldest wait (the counts are exact regardless)."""

log = logging.getLogger("stepwise.attention")


class AttentionGauges:
    """``stepwise_attention_waiting{pipeline}`` and ``stepwise_attention_oldest_waiting_seconds{pipeline}``."""

    def __init__(self, client: Client, meter: MetricMeter, *, interval_seconds: float = 30.0) -> None:
        self._client = client
        self._interval = interval_seconds
        self._waiting = meter.create_gauge("stepwise_attention_waiting", "Executions waiting for a human")
        self._oldest = meter.create_gauge_float(
            "stepwise_attention_oldest_waiting_seconds", "How long the oldest waiting execution has waited", "s"
        )
        # Known pipelines start at zero so the gauges exist (and alerts evaluate) before anything waits.
        self._pipelines: set[str] = set(PIPELINES)

    async def poll_once(self) -> dict[str, int]:
        """Read visibility once and set the gauges; return the count per pipeline.

        Counts come from ``count_workflows`` (exact however many wait); the oldest wait
        from a listing of at most :data:`OLDEST_SAMPLE` executions.
        """
        oldest: dict[str, float] = {}
        for item in await list_attention(self._client, query_timeout=0.0, limit=OLDEST_SAMPLE):
            pipeline = item.pipeline or "unknown"
            oldest[pipeline] = max(oldest.get(pipeline, 0.0), item.waiting_seconds)
        # One count per pipeline (SQL visibility groups only by ExecutionStatus); whatever
        # waits outside the named pipelines is counted as "unknown".
        counts: dict[str, int] = {}
        for pipeline in sorted((self._pipelines | set(oldest)) - {"unknown"}):
            query = f"{ATTENTION_QUERY} AND {PIPELINE_ATTRIBUTE} = '{pipeline}'"
            counts[pipeline] = (await self._client.count_workflows(query)).count
        rest = (await self._client.count_workflows(ATTENTION_QUERY)).count - sum(counts.values())
        if rest > 0 or "unknown" in self._pipelines:
            counts["unknown"] = max(rest, 0)
        # Pipelines seen before but now empty go back to zero instead of keeping a stale value.
        self._pipelines |= set(counts)
        for pipeline in sorted(self._pipelines):
            attributes = {"pipeline": pipeline}
            self._waiting.set(counts.get(pipeline, 0), attributes)
            self._oldest.set(oldest.get(pipeline, 0.0), attributes)
        return counts

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every interval until ``stop`` is set; a failed poll is logged and retried."""
        while not stop.is_set():
            try:
                await self.poll_once()
            except Exception as error:
                log.warning("attention poll failed: %s: %s", type(error).__name__, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
