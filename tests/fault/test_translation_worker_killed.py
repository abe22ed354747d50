"""A worker SIGKILLed while Amazon Translate is starting a pair's batch job: after a restart the
start is retried with the same client token, so each pair has one Translate job, not two."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.translation.contracts import START_JOB
from tests.support.processes import stack_env, start_worker
from tests.support.step_control import wait_waiting
from tests.support.translation import fast_request, submit, unique_project, xliff12
from worker.devstack.processes import free_port
from worker.settings import Settings

pytestmark = pytest.mark.fault


async def _jobs_started(emulators: Any) -> int:
    return int((await emulators.state.translate.stats())["jobs_started"])


async def test_a_worker_killed_while_a_job_starts_leaves_one_translate_job_per_pair(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    emulators: Any,
    tmp_path: Path,
) -> None:
    def worker_env() -> dict[str, str]:
        return stack_env(
            dev_env,
            settings,
            STEPWISE_WORKER__HEALTH_PORT=str(free_port()),
            STEPWISE_WORKER__METRICS_PORT=str(free_port()),
        )

    files = [(f"{lang}.xlf", xliff12({"1": "Hello there.", "2": "Bye."}, target=lang)) for lang in ("es", "fr")]
    request = fast_request(settings, resources, "acme", unique_project("killed"))
    before = await _jobs_started(emulators)
    # Translate creates the job at once but answers three seconds later: the worker dies in between.
    emulators.state.translate.configure_jobs(start_latency_seconds=3)
    log = tmp_path / "worker.log"
    first = start_worker(worker_env(), str(log))
    second = None
    try:
        handle = await submit(dev_env.client, aws, resources, settings, request, files)
        deadline = time.monotonic() + 60
        while await _jobs_started(emulators) == before:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        first.kill()  # SIGKILL while StartTextTranslationJob has not answered
        await asyncio.to_thread(first.wait, 10)
        emulators.state.translate.configure_jobs(start_latency_seconds=0)
        second = start_worker(worker_env(), str(log))
        await wait_waiting(handle, "review", timeout=120)
        await handle.terminate("test done")
    finally:
        emulators.state.translate.configure_jobs(start_latency_seconds=0)
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()

    assert await _jobs_started(emulators) - before == 2
    restarted = 0
    for lang in ("es", "fr"):
        pair_id = f"{handle.id}-en-{lang}"
        jobs = await aws.call("translate", "list_text_translation_jobs", Filter={"JobName": pair_id})
        assert len(jobs["TextTranslationJobPropertiesList"]) == 1, pair_id
        history = await dev_env.client.get_workflow_handle(pair_id).fetch_history()
        scheduled = {
            e.event_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == START_JOB.name
        }
        restarted += sum(
            1
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
            and e.activity_task_started_event_attributes.attempt > 1
        )
    assert restarted >= 1, "the kill should have interrupted a start that then ran again"
