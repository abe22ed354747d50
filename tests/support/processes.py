"""Run Stepwise's own processes (`stepwise worker`, the CLI) against the test stack."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from temporalio.testing import WorkflowEnvironment

from worker.settings import Settings


def stack_env(env: WorkflowEnvironment, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a deployed process would get, pointed at the test stack."""
    child = dict(os.environ)
    child.update(
        {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "STEPWISE_DATABASE_URL": settings.require_database_url(),
            "STEPWISE_WORKER__TASK_QUEUE": settings.worker.task_queue,
            "STEPWISE_WORKER__GRACEFUL_SHUTDOWN_SECONDS": str(settings.worker.graceful_shutdown_seconds),
            "STEPWISE_PARTNERS__PAYMENT_URL": settings.partners.payment_url,
            "STEPWISE_PARTNERS__ENRICHMENT_URL": settings.partners.enrichment_url,
            "STEPWISE_TELEMETRY__LOG_FORMAT": "json",
            # The B2B intake polls a shared queue; tests that exercise it switch it back on.
            "STEPWISE_B2B__INTAKE_ENABLED": "false",
            # Likewise the poller's consumer and its retention schedule (one per dev server).
            "STEPWISE_POLLER__CONSUMER_ENABLED": "false",
            "STEPWISE_POLLER__RETENTION_SCHEDULE": "false",
            "STEPWISE_TRANSLATION__INTAKE_ENABLED": "false",
            "STEPWISE_DOCUMENTS__INTAKE_ENABLED": "false",
        }
    )
    child.update(extra)
    return child


def stepwise(*args: str, env: dict[str, str], timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args], env=env, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def start_worker(env: dict[str, str], log_path: str) -> subprocess.Popen[bytes]:
    """`stepwise worker` as a child process logging to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
