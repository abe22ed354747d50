"""The media pipeline end to end on the embedded stack: dev server, worker, moto, emulators, Postgres.

The CLI starts the job as an operator would; the test then reads the world: objects in
S3, rows in Postgres, messages on SNS and the dead-letter queue, the workflow's history.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media.contracts import MediaJobRequest
from activities.media.keys import media_workflow_id
from activities.models.common import NotificationLedger
from activities.models.media import MediaJob, MediaTranslation
from tests.support.media import DEMO_TEXT, media_request, upload_media
from tests.support.processes import stack_env, start_worker, stepwise
from tests.support.world import QueueReader
from worker.devstack.processes import free_port
from worker.settings import Settings
from workflows.media.workflow import MediaWorkflow


async def _cli(env: WorkflowEnvironment, settings: Settings, *args: str) -> Any:
    return await asyncio.to_thread(stepwise, "media", *args, env=stack_env(env, settings), timeout=120)


async def _execute(env: WorkflowEnvironment, settings: Settings, request: MediaJobRequest) -> Any:
    handle = await env.client.start_workflow(
        MediaWorkflow.run, request, id=media_workflow_id(request.job_id), task_queue=settings.worker.task_queue
    )
    try:
        return await handle.result(), handle
    except WorkflowFailureError as failure:
        return failure, handle


async def test_cli_job_stores_transcript_and_two_translations_and_notifies_once(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    notifications = await QueueReader.subscribed_to(aws, resources.media_notifications_topic)
    uri = await upload_media(aws, resources, DEMO_TEXT)
    job_id = f"e2e-{time.monotonic_ns()}"
    async with stepwise_worker(dev_env.client):
        args = ["start", uri, "--language", "en-US", "--to", "es", "--to", "fr", "--job-id", job_id]
        result = await _cli(dev_env, settings, *args, "--poll-interval", "1", "--wait", "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert (view["status"], view["polls"], view["transcript"]) == ("COMPLETED", 3, DEMO_TEXT)

    prefix = f"media-jobs/{job_id}/"
    bucket = resources.processing_bucket
    assert (await aws.read_object(bucket, prefix + "transcript.txt")).decode() == DEMO_TEXT
    for language in ("es", "fr"):
        text = (await aws.read_object(bucket, f"{prefix}translations/{language}.txt")).decode()
        assert text.startswith(f"[{language}] The B2B integration pipeline") and text.endswith(" 42.")
        segments = json.loads(await aws.read_object(bucket, f"{prefix}translations/{language}.segments.json"))
        assert [s["machine_translated"] for s in segments] == [True]

    async with sessions() as session:
        job = await session.get(MediaJob, job_id)
        rows = (await session.scalars(select(MediaTranslation).where(MediaTranslation.job_id == job_id))).all()
        ledger = await session.get(NotificationLedger, f"media-{job_id}:completed")
    assert job is not None and job.status == "COMPLETED" and job.transcript == DEMO_TEXT
    assert {r.language_code: r.translated_text.split()[0] for r in rows} == {"es": "[es]", "fr": "[fr]"}
    assert ledger is not None and ledger.message_id
    messages = [m for m in await notifications.drain() if m.get("job_id") == job_id]
    assert len(messages) == 1 and messages[0]["event"] == "media.completed"


async def test_transcribe_failure_ends_the_job_with_its_reason_long_before_the_maximum_wait(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    dead_letters = await QueueReader.of_queue(aws, resources.media_dlq)
    uri = await upload_media(
        aws, resources, "FAILED: The media format provided does not match the detected media format."
    )
    request = media_request(uri, max_wait_seconds=3600.0)
    began = time.monotonic()
    async with stepwise_worker(dev_env.client):
        failure, _ = await _execute(dev_env, settings, request)
    assert time.monotonic() - began < 30
    assert isinstance(failure, WorkflowFailureError) and isinstance(failure.cause, ApplicationError)
    assert failure.cause.type == "TranscriptionFailed"
    assert "does not match the detected media format" in failure.cause.message
    async with sessions() as session:
        job = await session.get(MediaJob, request.job_id)
    assert job is not None and (job.status, job.failed_step) == ("FAILED", "wait_for_transcript")
    assert job.failure_reason is not None and "does not match the detected media format" in job.failure_reason
    stories = [m for m in await dead_letters.drain() if m.get("job_id") == request.job_id]
    assert len(stories) == 1 and stories[0]["error_type"] == "TranscriptionFailed"


async def test_throttled_translation_is_retried_and_an_unsupported_pair_fails_fast(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    emulators: Any,
    stepwise_worker: Any,
) -> None:
    throttled = media_request(await upload_media(aws, resources, DEMO_TEXT), targets=("es",))
    unsupported = media_request(await upload_media(aws, resources, DEMO_TEXT), targets=("es", "tlh"))
    async with stepwise_worker(dev_env.client):
        emulators.state.translate.inject(1, "ThrottlingException")
        result, handle = await _execute(dev_env, settings, throttled)
        failure, failed_handle = await _execute(dev_env, settings, unsupported)
    assert result.translations[0].language == "es"
    assert await _translate_attempts(handle) == 2
    assert isinstance(failure, WorkflowFailureError) and isinstance(failure.cause, ApplicationError)
    assert failure.cause.type == "UnsupportedLanguagePair"
    assert failure.cause.message == "translate: Amazon Translate does not support translating en into tlh"
    assert await _translate_attempts(failed_handle) == 1


async def _translate_attempts(handle: Any) -> int:
    history = await handle.fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "translate_transcript"
    }
    return max(
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    )


async def test_the_worker_process_exports_the_media_metrics(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, aws: AwsClients, tmp_path: Any
) -> None:
    metrics_port = free_port()
    env = stack_env(
        dev_env,
        settings,
        STEPWISE_WORKER__HEALTH_PORT=str(free_port()),
        STEPWISE_WORKER__METRICS_PORT=str(metrics_port),
    )
    worker = start_worker(env, str(tmp_path / "worker.log"))
    try:
        result, _ = await _execute(dev_env, settings, media_request(await upload_media(aws, resources, DEMO_TEXT)))
        assert result.polls == 3
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 30)
    lines = {
        line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines() if line.startswith("stepwise_")
    }
    completed = [
        v for k, v in lines.items() if k.startswith("stepwise_media_jobs_total") and 'outcome="completed"' in k
    ]
    spanish = [v for k, v in lines.items() if k.startswith("stepwise_translation_bytes_total") and '"es"' in k]
    waits = [v for k, v in lines.items() if k.startswith("stepwise_transcription_wait_seconds_count")]
    assert completed == [1.0]
    assert spanish == [float(len(DEMO_TEXT.encode()))]
    assert waits == [1.0]
