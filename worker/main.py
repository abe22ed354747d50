"""The worker process: `stepwise worker`.

Start-up builds everything once (runtime with the Prometheus endpoint, traced client,
engine, AWS and HTTP clients, activity instances), applies the worker's speed-ups (``worker.speedups``) and
starts the monitors
(``worker.monitors``: dead-letter queue depth, business counters at zero). SIGTERM or
SIGINT drains: the monitors stop, the worker stops polling, running activities get
``graceful_shutdown_seconds`` to finish (after which they are cancelled and see it on
their next heartbeat), then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.client import Client, ScheduleAlreadyRunningError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.common.deps import ActivityDeps
from worker import speedups
from worker.attention_metrics import AttentionGauges
from worker.documents_intake import documents_intake_for
from worker.health import HealthServer, dependency_checks
from worker.intake import intake_for
from worker.monitors import worker_monitors
from worker.poller_consumer import consumer_for
from worker.queue_poller import polling
from worker.registry import activity_deps, create_worker
from worker.services.poller import ensure_retention_schedule
from worker.settings import Settings
from worker.telemetry import build_runtime, configure_logging, configure_tracing
from worker.temporal import connect
from worker.translation_intake import translation_intake_for

log = logging.getLogger("stepwise.worker")


async def readiness(client: Client, deps: ActivityDeps, worker: Worker) -> dict[str, str]:
    """Temporal and Postgres reachable, worker polling."""
    checks = await dependency_checks(client, deps.sessions)
    checks["worker"] = "ok" if worker.is_running and not worker.is_shutdown else "not polling"
    return checks


async def _ensure_retention(client: Client, settings: Settings) -> None:
    """The poller's retention schedule exists and matches the settings (every worker checks; one wins)."""
    if not settings.poller.retention_schedule:
        return
    try:
        created = await ensure_retention_schedule(client, settings)
    except (RPCError, ScheduleAlreadyRunningError) as error:  # another worker changing it at the same moment
        log.warning("poller retention schedule not checked: %s", error)
        return
    log.info("poller retention schedule %s", "created" if created else "checked")


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set or SIGTERM/SIGINT arrives, then drain and return."""
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry, "stepwise-worker")
    metrics_bind = f"{settings.worker.host}:{settings.worker.metrics_port}"
    runtime = build_runtime(metrics_bind)
    client = await connect(settings, runtime=runtime)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with activity_deps(settings, client) as deps:
        worker = create_worker(client, settings, deps)
        health = HealthServer(
            settings.worker.host, settings.worker.health_port, lambda: readiness(client, deps, worker)
        )
        await health.start()
        log.info(
            "worker polling task queue %s (health :%s, metrics %s)",
            settings.worker.task_queue,
            health.port,
            metrics_bind,
        )
        gauges = asyncio.create_task(AttentionGauges(client, runtime.metric_meter).run(stop))
        monitors = worker_monitors(
            runtime.metric_meter,
            deps.aws,
            deps.resources.dead_letter_queues,
            namespace=client.namespace,
            task_queue=settings.worker.task_queue,
        )
        await _ensure_retention(client, settings)
        speedups.once_started(settings.worker.sdk_speedups)  # everything start-up builds exists now
        try:
            queues = [
                poller
                for poller in (
                    intake_for(client, settings, deps),
                    translation_intake_for(client, settings, deps),
                    documents_intake_for(client, settings, deps),
                    consumer_for(settings, deps),
                )
                if poller is not None
            ]
            async with worker, monitors, polling(queues):
                await stop.wait()
                log.info("shutting down: draining running activities")
        finally:
            stop.set()
            await gauges
            await health.stop()
    log.info("worker stopped")
