"""The workflow runner the tests use: the worker's own, unless its speed-ups are switched off.

``STEPWISE_WORKER__SDK_SPEEDUPS=false`` (the setting a worker reads) makes every in-process
worker and replayer of the tests use Temporal's stock ``SandboxedWorkflowRunner``, so the
workflow tests can prove the product works without ``worker.speedups`` (``make test`` runs
them both ways).
"""

from __future__ import annotations

from worker import speedups
from worker.settings import Settings

SDK_SPEEDUPS = Settings().worker.sdk_speedups
"""Whether this test session runs with the worker's speed-ups (the default) or without."""

TEST_RUNNER = speedups.workflow_runner(SDK_SPEEDUPS)
"""The runner for ``Worker(workflow_runner=...)`` and ``Replayer(workflow_runner=...)`` in tests."""
