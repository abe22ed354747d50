"""The workflow runner the tests use: the worker's own, unless its speed-ups are switched off.

``STEPWISE_WORKER__SDK_SPEEDUPS=false`` (the setting a worker reads) makes every in-process
worker and replayer of the tests use Temporal's stock ``SandboxedWorkflowRunner``, so the
workflow tests can prove the product works without ``worker.speedups`` (``make test`` runs
them both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from worker import speedups
from worker.settings import Settings
from workflows.catalog import WORKFLOWS

SDK_SPEEDUPS = Settings().worker.sdk_speedups
"""Whether this test session runs with the worker's speed-ups (the default) or without."""

TEST_RUNNER = speedups.workflow_runner(SDK_SPEEDUPS)
"""The runner for ``Worker(workflow_runner=...)`` and ``Replayer(workflow_runner=...)`` in tests."""


def catalog_worker(
    env: WorkflowEnvironment, task_queue: str, activities: Sequence[Callable[..., Any]]
) -> AbstractAsyncContextManager[Worker]:
    """A worker of every workflow in the catalog, under the test runner, with these activities."""
    return Worker(
        env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=activities, workflow_runner=TEST_RUNNER
    )
