"""A media step whose retries run out parks for an operator, who retries or aborts it.

Amazon Translate is throttled (the emulator's switch) for every one of the translate
step's ten attempts. On the time-skipping server the attempts' five minutes of backoff are
skipped (the test advances the server's clock while it waits; awaiting the result instead
would let the server skip a parked job straight to its execution timeout). Decisions arrive
as the ``stepwise.decision`` signal, which runs the same checks as the update and is audited
the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import DECISION_SIGNAL, StepDecision
from activities.common.contracts import STEP_ABORTED as ABORTED
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media.contracts import MediaJobRequest
from activities.media.keys import MediaKeys, media_workflow_id
from activities.media.translation import segments_of
from activities.models.media import MediaJob, MediaTranslation
from activities.models.step_control import StepDecisionRecord
from tests.support.media import DEMO_TEXT, media_request, upload_media
from tests.support.step_control import step_status
from tests.support.world import QueueReader
from worker.settings import Settings
from workflows.media.workflow import MediaWorkflow

TRANSLATE_ATTEMPTS = 10
"""The translate step's retry policy allows ten attempts (TRANSLATE_TRANSCRIPT)."""


async def _parked_at_translate(
    env: WorkflowEnvironment, settings: Settings, emulators: Any, request: MediaJobRequest
) -> WorkflowHandle[Any, Any]:
    emulators.state.translate.inject(TRANSLATE_ATTEMPTS, "ThrottlingException")
    handle = await env.client.start_workflow(
        MediaWorkflow.run, request, id=media_workflow_id(request.job_id), task_queue=settings.worker.task_queue
    )
    for _ in range(60):
        status = await step_status(handle)
        if "translate" in status.waiting:
            parked = next(s for s in status.steps if s.name == "translate")
            assert (parked.last_error_type, parked.attempts) == ("AwsThrottled", TRANSLATE_ATTEMPTS)
            return handle
        await env.sleep(30)  # the server's clock: the next retry's backoff passes
    raise AssertionError(f"translate never parked: {await step_status(handle)}")


async def _decide(handle: WorkflowHandle[Any, Any], action: str, reason: str) -> None:
    await handle.signal(DECISION_SIGNAL, StepDecision("translate", action, operator="ops-lin", reason=reason))


async def _audited(sessions: SessionMaker, workflow_id: str) -> list[tuple[str, str, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(StepDecisionRecord).where(StepDecisionRecord.workflow_id == workflow_id))
        return [(r.step, r.action, r.operator, r.outcome) for r in rows]


async def test_translation_throttled_past_its_retries_parks_and_a_retry_completes_the_job(
    time_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    emulators: Any,
    stepwise_worker: Any,
) -> None:
    request = media_request(await upload_media(aws, resources, DEMO_TEXT), targets=("es",))
    async with stepwise_worker(time_env.client):
        handle = await _parked_at_translate(time_env, settings, emulators, request)
        async with sessions() as session:
            assert await session.get(MediaJob, request.job_id) is None  # nothing failed behind the operator's back
        await _decide(handle, "retry", "Translate quota raised")
        result = await asyncio.wait_for(handle.result(), 60)
    assert [t.language for t in result.translations] == ["es"]
    async with sessions() as session:
        job = await session.get(MediaJob, request.job_id)
        rows = (await session.scalars(select(MediaTranslation).where(MediaTranslation.job_id == request.job_id))).all()
    assert job is not None and job.status == "COMPLETED"
    assert [r.language_code for r in rows] == ["es"]
    assert await _audited(sessions, handle.id) == [("translate", "retry", "ops-lin", "accepted")]


async def test_an_aborted_translation_fails_the_job_with_the_reason_and_dead_letters_it(
    time_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    emulators: Any,
    stepwise_worker: Any,
) -> None:
    dead_letters = await QueueReader.of_queue(aws, resources.media_dlq)
    request = media_request(await upload_media(aws, resources, DEMO_TEXT), targets=("fr",))
    async with stepwise_worker(time_env.client):
        handle = await _parked_at_translate(time_env, settings, emulators, request)
        await _decide(handle, "abort", "customer withdrew the job")
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 60)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ABORTED
    assert "aborted by ops-lin: customer withdrew the job" in cause.message
    async with sessions() as session:
        job = await session.get(MediaJob, request.job_id)
    assert job is not None and (job.status, job.failed_step) == ("FAILED", "translate")
    assert job.failure_reason is not None and "customer withdrew the job" in job.failure_reason
    stories = [m for m in await dead_letters.drain() if m.get("job_id") == request.job_id]
    assert len(stories) == 1 and stories[0]["error_type"] == ABORTED
    assert await _audited(sessions, handle.id) == [("translate", "abort", "ops-lin", "accepted")]


async def test_a_parked_translation_skipped_with_an_operators_translation_completes_the_job(
    time_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    emulators: Any,
    stepwise_worker: Any,
) -> None:
    request = media_request(await upload_media(aws, resources, DEMO_TEXT), targets=("de",))
    keys = MediaKeys(request.job_id)
    async with stepwise_worker(time_env.client):
        handle = await _parked_at_translate(time_env, settings, emulators, request)
        # Translate stays down: the operator has the transcript translated by hand and puts each
        # chunk where the step would have checkpointed it, then skips the step with its output.
        transcript = (await aws.read_object(resources.processing_bucket, keys.transcript)).decode("utf-8")
        segments = segments_of(transcript)
        for segment in segments:
            key = keys.translation_part("de", segment.index, segment.digest)
            body = f"(de, by hand) {segment.source}".encode()
            await aws.call("s3", "put_object", Bucket=resources.processing_bucket, Key=key, Body=body)
        done = {"translations": [{"language": "de", "segments": len(segments), "source_bytes": len(transcript)}]}
        decision = StepDecision("translate", "skip", operator="ops-lin", reason="translated by an agency")
        await handle.signal(DECISION_SIGNAL, replace(decision, substitute_output=done))
        result = await asyncio.wait_for(handle.result(), 60)
        translate = next(s for s in (await step_status(handle)).steps if s.name == "translate")
    assert (translate.status, translate.substituted, translate.decided_by) == ("skipped", True, "ops-lin")
    assert [t.language for t in result.translations] == ["de"]
    text = await aws.read_object(resources.processing_bucket, keys.translation_text("de"))
    assert text.decode("utf-8").count("(de, by hand)") == len(segments)
    async with sessions() as session:
        job = await session.get(MediaJob, request.job_id)
    assert job is not None and job.status == "COMPLETED"
    assert await _audited(sessions, handle.id) == [("translate", "skip", "ops-lin", "accepted")]
