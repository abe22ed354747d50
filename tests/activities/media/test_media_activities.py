"""The media activities against moto, the Transcribe/Translate emulation and Postgres.

Each step is run the way a retry would run it (twice, or after a failure) and the test
looks at what is in S3, Transcribe, Postgres and SNS afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media.activities import MediaActivities
from activities.media.contracts import (
    AwaitTranscriptInput,
    CopyMediaInput,
    PostProcessInput,
    RecordFailureInput,
    StartTranscriptionInput,
    TranscriptRef,
    TranslateInput,
)
from activities.media.keys import media_workflow_id
from activities.models.common import NotificationLedger
from activities.models.media import MediaJob, MediaTranslation
from tests.support.media import DEMO_TEXT, media_request, upload_media
from tests.support.world import QueueReader


@pytest.fixture
def media(aws: AwsClients, sessions: SessionMaker, resources: Resources, emulators: Any) -> MediaActivities:
    """The activities wired like the worker wires them (Translate/Transcribe via the emulators)."""
    return MediaActivities(aws, sessions, resources)


def _attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


async def _poll(media: MediaActivities, job_id: str, times: int) -> list[object]:
    outcomes: list[object] = []
    for attempt in range(1, times + 1):
        try:
            outcomes.append(
                await _attempt(attempt).run(
                    media.await_transcript, AwaitTranscriptInput(job_id, media_workflow_id(job_id))
                )
            )
        except ApplicationError as error:
            outcomes.append(error)
    return outcomes


async def _started_job(media: MediaActivities, aws: AwsClients, resources: Resources, transcript: str | None) -> Any:
    request = media_request(await upload_media(aws, resources, transcript))
    copied = await ActivityEnvironment().run(media.copy_media, CopyMediaInput(request.job_id, request.media_uri))
    start = StartTranscriptionInput(request.job_id, media_workflow_id(request.job_id), copied.processing_uri, "en-US")
    await ActivityEnvironment().run(media.start_transcription, start)
    return request, copied


async def test_copying_twice_leaves_one_identical_copy(
    media: MediaActivities, aws: AwsClients, resources: Resources
) -> None:
    request = media_request(await upload_media(aws, resources, DEMO_TEXT, name="Talk.WAV"))
    first = await ActivityEnvironment().run(media.copy_media, CopyMediaInput(request.job_id, request.media_uri))
    second = await ActivityEnvironment().run(media.copy_media, CopyMediaInput(request.job_id, request.media_uri))
    assert first == second
    assert first.processing_uri == f"s3://{resources.processing_bucket}/media-jobs/{request.job_id}/media.wav"
    listed = await aws.call(
        "s3", "list_objects_v2", Bucket=resources.processing_bucket, Prefix=f"media-jobs/{request.job_id}/"
    )
    source_key = request.media_uri.split("/", 3)[3]
    source = await aws.call("s3", "head_object", Bucket=resources.media_bucket, Key=source_key)
    assert [(o["Key"], o["ETag"]) for o in listed["Contents"]] == [
        (f"media-jobs/{request.job_id}/media.wav", source["ETag"])
    ]


async def test_copying_missing_media_fails_without_retrying(media: MediaActivities, resources: Resources) -> None:
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(
            media.copy_media, CopyMediaInput("j", f"s3://{resources.media_bucket}/nope.wav")
        )
    assert raised.value.type == "MediaNotFound" and raised.value.non_retryable
    assert "nope.wav" in raised.value.message


async def test_starting_twice_starts_one_transcription_job(
    media: MediaActivities, aws: AwsClients, resources: Resources
) -> None:
    request, copied = await _started_job(media, aws, resources, DEMO_TEXT)
    name = media_workflow_id(request.job_id)
    again = await ActivityEnvironment().run(
        media.start_transcription, StartTranscriptionInput(request.job_id, name, copied.processing_uri, "en-US")
    )
    assert again.already_started
    jobs = await aws.call("transcribe", "list_transcription_jobs", JobNameContains=name)
    assert [job["TranscriptionJobName"] for job in jobs["TranscriptionJobSummaries"]] == [name]


async def test_a_job_name_taken_by_other_media_is_a_conflict(
    media: MediaActivities, aws: AwsClients, resources: Resources
) -> None:
    request, _ = await _started_job(media, aws, resources, DEMO_TEXT)
    other = StartTranscriptionInput(request.job_id, media_workflow_id(request.job_id), "s3://elsewhere/x.wav", "en-US")
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(media.start_transcription, other)
    assert raised.value.type == "TranscriptionJobConflict" and raised.value.non_retryable


async def test_polling_is_not_ready_twice_then_returns_the_stored_transcript(
    media: MediaActivities, aws: AwsClients, resources: Resources
) -> None:
    request, _ = await _started_job(media, aws, resources, DEMO_TEXT)
    first, second, third = await _poll(media, request.job_id, 3)
    for not_ready in (first, second):
        assert isinstance(not_ready, ApplicationError)
        assert not_ready.type == "TranscriptionNotReady" and not not_ready.non_retryable
        assert not_ready.category == ApplicationErrorCategory.BENIGN
    assert isinstance(third, TranscriptRef) and third.polls == 3
    stored = await aws.read_object(resources.processing_bucket, f"media-jobs/{request.job_id}/transcript.txt")
    assert stored.decode() == DEMO_TEXT
    document = json.loads(
        await aws.read_object(resources.processing_bucket, f"media-jobs/{request.job_id}/transcribe.json")
    )
    assert document["results"]["transcripts"][0]["transcript"] == DEMO_TEXT


async def test_a_failed_job_carries_transcribes_failure_reason(
    media: MediaActivities, aws: AwsClients, resources: Resources
) -> None:
    request, _ = await _started_job(
        media, aws, resources, "FAILED: The media format provided does not match the detected media format."
    )
    *_, last = await _poll(media, request.job_id, 3)
    assert isinstance(last, ApplicationError)
    assert last.type == "TranscriptionFailed" and last.non_retryable
    assert "does not match the detected media format" in last.message
    assert last.details[0]["failure_reason"].startswith("The media format provided")


async def test_translation_resumes_after_throttling_without_resending_segments(
    media: MediaActivities, aws: AwsClients, resources: Resources, emulators: Any
) -> None:
    text = "A sentence of moderate length that says very little. " * 500  # about 27 KB: three segments
    request, _ = await _started_job(media, aws, resources, text)
    *_, transcript = await _poll(media, request.job_id, 3)
    assert isinstance(transcript, TranscriptRef)
    translate = TranslateInput(request.job_id, transcript.uri, "en-US", ["es"])
    before = await emulators.state.translate.stats()
    emulators.state.translate.inject(1, "ThrottlingException", after=1)
    with pytest.raises(ApplicationError) as throttled:
        await ActivityEnvironment().run(media.translate_transcript, translate)
    assert throttled.value.type == "AwsThrottled" and not throttled.value.non_retryable
    done = await _attempt(2).run(media.translate_transcript, translate)
    after = await emulators.state.translate.stats()
    assert [(t.language, t.segments) for t in done.translations] == [("es", 3)]
    assert after["translations"] - before["translations"] == 3  # not 4: segment 0 was not sent again
    parts = await aws.call(
        "s3",
        "list_objects_v2",
        Bucket=resources.processing_bucket,
        Prefix=f"media-jobs/{request.job_id}/translations/es/parts/",
    )
    assert len(parts["Contents"]) == 3


async def test_an_unsupported_language_pair_fails_fast_and_says_which(
    media: MediaActivities, aws: AwsClients, resources: Resources
) -> None:
    request, _ = await _started_job(media, aws, resources, DEMO_TEXT)
    *_, transcript = await _poll(media, request.job_id, 3)
    assert isinstance(transcript, TranscriptRef)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(
            media.translate_transcript, TranslateInput(request.job_id, transcript.uri, "en-US", ["es", "tlh"])
        )
    assert raised.value.type == "UnsupportedLanguagePair" and raised.value.non_retryable
    assert raised.value.message == "Amazon Translate does not support translating en into tlh"


async def test_post_processing_twice_stores_once_and_notifies_once(
    media: MediaActivities, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    notifications = await QueueReader.subscribed_to(aws, resources.media_notifications_topic)
    request, copied = await _started_job(media, aws, resources, DEMO_TEXT)
    *_, transcript = await _poll(media, request.job_id, 3)
    assert isinstance(transcript, TranscriptRef)
    done = await ActivityEnvironment().run(
        media.translate_transcript, TranslateInput(request.job_id, transcript.uri, "en-US", ["es", "fr"])
    )
    finish = PostProcessInput(
        request, media_workflow_id(request.job_id), copied.processing_uri, transcript, done.translations
    )
    first = await ActivityEnvironment().run(media.post_process_media, finish)
    second = await _attempt(2).run(media.post_process_media, finish)
    assert first == second
    assert [(t.language, t.segments, t.machine_translated_segments) for t in first.translations] == [
        ("es", 1, 1),
        ("fr", 1, 1),
    ]
    spanish = (
        await aws.read_object(resources.processing_bucket, f"media-jobs/{request.job_id}/translations/es.txt")
    ).decode()
    assert spanish == f"[es] {DEMO_TEXT}"
    async with sessions() as session:
        job = await session.get(MediaJob, request.job_id)
        rows = (await session.scalars(select(MediaTranslation).where(MediaTranslation.job_id == request.job_id))).all()
        ledger = await session.get(NotificationLedger, f"media-{request.job_id}:completed")
    assert job is not None and job.status == "COMPLETED" and job.transcript == DEMO_TEXT and job.polls == 3
    assert sorted(r.language_code for r in rows) == ["es", "fr"]
    assert ledger is not None and ledger.message_id == first.notification_id
    messages = [m for m in await notifications.drain() if m.get("job_id") == request.job_id]
    assert len(messages) == 1
    assert messages[0]["translations"]["fr"]["text_uri"].endswith("/translations/fr.txt")


async def test_rejected_input_is_quarantined_in_the_dead_letter_queue_even_when_it_fits_no_column(
    media: MediaActivities, aws: AwsClients, resources: Resources, sessions: SessionMaker
) -> None:
    dead_letters = await QueueReader.of_queue(aws, resources.media_dlq)
    fits = media_request("s3://stepwise-media/x.wav", language_code="english-please")
    too_long = media_request("not-a-uri", job_id="j" * 270 + uuid.uuid4().hex)
    for request in (fits, too_long):
        failure = RecordFailureInput(request, "validate", "InvalidMediaRequest", "media_uri: expected s3://bucket/key")
        await ActivityEnvironment().run(media.record_media_failure, failure)
        await _attempt(2).run(media.record_media_failure, failure)  # a retry sends nothing twice
    stories = [m for m in await dead_letters.drain() if m.get("job_id") in (fits.job_id, too_long.job_id)]
    assert {s["job_id"]: (s["language_code"], s["media_uri"]) for s in stories} == {
        fits.job_id: ("english-please", "s3://stepwise-media/x.wav"),
        too_long.job_id: ("en-US", "not-a-uri"),
    }
    assert len(stories) == 2
    async with sessions() as session:
        row = await session.get(MediaJob, fits.job_id)
    assert row is not None and (row.status, row.failed_step, row.language_code) == ("FAILED", "validate", "english-pl")
