"""The real worker process code (`worker.main.run_worker`) in-process, with its metrics endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from worker.devstack.processes import free_port
from worker.main import run_worker
from worker.settings import Settings


@dataclass(frozen=True)
class RunningWorker:
    """Where a running worker serves its endpoints."""

    health_url: str
    metrics_url: str

    async def metrics(self) -> str:
        """The Prometheus exposition the worker serves now."""
        async with httpx.AsyncClient() as http:
            response = await http.get(self.metrics_url)
        response.raise_for_status()
        return response.text


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningWorker]:
    """`stepwise worker` as `run_worker` runs it, ready (``/readyz`` 200) when entered, drained on exit."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    health_port, metrics_port = free_port(), free_port()
    configured = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"health_port": health_port, "metrics_port": metrics_port})}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(configured, stop=stop))
    worker = RunningWorker(f"http://127.0.0.1:{health_port}", f"http://127.0.0.1:{metrics_port}/metrics")
    try:
        await _until_ready(worker, task)
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _until_ready(worker: RunningWorker, task: asyncio.Task[None]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            if task.done():
                task.result()  # raises what stopped the worker
            try:
                if (await http.get(f"{worker.health_url}/readyz")).status_code == 200:
                    return
            except httpx.ConnectError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("the worker did not become ready within 10 s")
