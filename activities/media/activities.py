"""Media pipeline activities (DESIGN §5.3): S3, Transcribe, Translate, Postgres, SNS.

Every step is safe to retry: the copy goes to a key derived from the job id, the
Transcribe job is named after the workflow (a conflict means an earlier attempt started
it), the poll only reads, translated segments are checkpointed under deterministic keys,
rows are upserted and notifications go through the ledger.

The poll (:meth:`MediaActivities.await_transcript`) is the article's Wait /
GetTranscriptionJob / Choice loop turned into one activity retried by its policy: "not
ready" is a benign retryable error, so the loop costs the workflow's history nothing
however many times it goes round.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import asdict
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.common.aws import AwsClients, aws_error_code
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.s3_uri import InvalidS3Uri, S3Location, parse_s3_uri
from activities.media.contracts import (
    AWAIT_TRANSCRIPT,
    COPY_MEDIA,
    INVALID_REQUEST,
    JOB_CONFLICT,
    JOB_ID_PATTERN,
    MEDIA_NOT_FOUND,
    MEDIA_TOO_LARGE,
    NOT_READY,
    POST_PROCESS_MEDIA,
    RECORD_MEDIA_FAILURE,
    START_TRANSCRIPTION,
    TRANSCRIPT_MALFORMED,
    TRANSCRIPTION_FAILED,
    TRANSLATE_TRANSCRIPT,
    AwaitTranscriptInput,
    CopiedMedia,
    CopyMediaInput,
    FailureRecorded,
    MediaJobResult,
    PostProcessInput,
    RecordFailureInput,
    StartTranscriptionInput,
    TranscriptionStarted,
    TranscriptRef,
    TranslateInput,
    TranslationsDone,
)
from activities.media.keys import MediaKeys, media_workflow_id
from activities.media.results import ResultWriter
from activities.media.transcripts import TranscriptMalformed, transcript_text
from activities.media.translation import Translator, segments_of, source_language
from activities.models.media import MediaJob

MAX_MEDIA_BYTES = 2 * 1024**3
"""Amazon Transcribe's limit on a batch job's media file (2 GB)."""


def _location(uri: str) -> S3Location:
    try:
        return parse_s3_uri(uri)
    except InvalidS3Uri as error:
        raise ApplicationError(str(error), type=INVALID_REQUEST, non_retryable=True) from None


def _decisive(failures: ExceptionGroup[Exception]) -> Exception:
    """The error that should decide the retry: a non-retryable one if any language hit one."""
    errors = list(failures.exceptions)
    final = [e for e in errors if isinstance(e, ApplicationError) and e.non_retryable]
    return (final or errors)[0]


class MediaActivities:
    """The media pipeline's steps, sharing the AWS clients, Postgres and the notifier."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._notifier = Notifier(aws, sessions)
        self._translator = Translator(aws, resources.processing_bucket)
        self._results = ResultWriter(aws, sessions, resources, self._notifier, self._translator)

    @activity.defn(name=COPY_MEDIA.name)
    async def copy_media(self, request: CopyMediaInput) -> CopiedMedia:
        """Copy the media into the processing bucket (the article's GetSampleVideo)."""
        source = _location(request.media_uri)
        try:
            head = await self._aws.call("s3", "head_object", Bucket=source.bucket, Key=source.key)
        except ApplicationError as error:
            if error.type == "AwsNotFound":
                raise ApplicationError(
                    f"no media object at {source.uri}", type=MEDIA_NOT_FOUND, non_retryable=True
                ) from error
            raise
        size = int(head["ContentLength"])
        if size > MAX_MEDIA_BYTES:
            raise ApplicationError(
                f"{source.uri} is {size} bytes; Amazon Transcribe accepts at most {MAX_MEDIA_BYTES}",
                type=MEDIA_TOO_LARGE,
                non_retryable=True,
            )
        target = S3Location(self._resources.processing_bucket, MediaKeys(request.job_id).media(source.key))
        await self._aws.call(
            "s3",
            "copy_object",
            Bucket=target.bucket,
            Key=target.key,
            CopySource={"Bucket": source.bucket, "Key": source.key},
        )
        return CopiedMedia(processing_uri=target.uri, size_bytes=size)

    @activity.defn(name=START_TRANSCRIPTION.name)
    async def start_transcription(self, request: StartTranscriptionInput) -> TranscriptionStarted:
        """StartTranscriptionJob named after the workflow; a conflict means an earlier attempt started it."""
        try:
            await self._aws.call(
                "transcribe",
                "start_transcription_job",
                TranscriptionJobName=request.job_name,
                LanguageCode=request.language_code,
                Media={"MediaFileUri": request.media_uri},
                OutputBucketName=self._resources.processing_bucket,
                OutputKey=MediaKeys(request.job_id).transcribe_output,
            )
        except ApplicationError as error:
            if aws_error_code(error) != "ConflictException":
                raise
            await self._check_existing_job(request)
            return TranscriptionStarted(request.job_name, already_started=True)
        return TranscriptionStarted(request.job_name, already_started=False)

    async def _check_existing_job(self, request: StartTranscriptionInput) -> None:
        job = (await self._aws.call("transcribe", "get_transcription_job", TranscriptionJobName=request.job_name))[
            "TranscriptionJob"
        ]
        existing = job.get("Media", {}).get("MediaFileUri")
        if existing != request.media_uri:
            raise ApplicationError(
                f"a Transcribe job named {request.job_name} already exists for {existing}, not {request.media_uri}",
                type=JOB_CONFLICT,
                non_retryable=True,
            )

    @activity.defn(name=AWAIT_TRANSCRIPT.name)
    async def await_transcript(self, request: AwaitTranscriptInput) -> TranscriptRef:
        """One poll of the Transcribe job; when it is COMPLETED, extract and store the transcript.

        Raises a benign retryable ``TranscriptionNotReady`` while the job is queued or in
        progress (the retry policy is the poll loop) and a non-retryable
        ``TranscriptionFailed`` carrying Transcribe's ``FailureReason`` when it failed.
        """
        job = (await self._aws.call("transcribe", "get_transcription_job", TranscriptionJobName=request.job_name))[
            "TranscriptionJob"
        ]
        status = job.get("TranscriptionJobStatus", "QUEUED")
        if status == "FAILED":
            reason = job.get("FailureReason") or "no reason given"
            raise ApplicationError(
                f"Transcribe job {request.job_name} FAILED: {reason}",
                {"failure_reason": reason},
                type=TRANSCRIPTION_FAILED,
                non_retryable=True,
            )
        if status != "COMPLETED":
            raise ApplicationError(
                f"Transcribe job {request.job_name} is {status}",
                type=NOT_READY,
                category=ApplicationErrorCategory.BENIGN,
            )
        return await self._store_transcript(request.job_id)

    async def _store_transcript(self, job_id: str) -> TranscriptRef:
        keys = MediaKeys(job_id)
        bucket = self._resources.processing_bucket
        try:
            text = transcript_text(await self._aws.read_object(bucket, keys.transcribe_output))
        except TranscriptMalformed as error:
            raise ApplicationError(
                f"s3://{bucket}/{keys.transcribe_output}: {error}", type=TRANSCRIPT_MALFORMED, non_retryable=True
            ) from None
        body = text.encode("utf-8")
        await self._aws.call(
            "s3", "put_object", Bucket=bucket, Key=keys.transcript, Body=body, ContentType="text/plain; charset=utf-8"
        )
        return TranscriptRef(
            uri=f"s3://{bucket}/{keys.transcript}", size_bytes=len(body), polls=activity.info().attempt
        )

    @activity.defn(name=TRANSLATE_TRANSCRIPT.name)
    async def translate_transcript(self, request: TranslateInput) -> TranslationsDone:
        """Translate the transcript into every target language in parallel, segment by segment."""
        source = source_language(request.language_code)
        transcript = _location(request.transcript_uri)
        segments = segments_of((await self._aws.read_object(transcript.bucket, transcript.key)).decode("utf-8"))
        keys = MediaKeys(request.job_id)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._translator.translate(keys, segments, source, target))
                    for target in request.target_languages
                ]
        except ExceptionGroup as failures:
            raise _decisive(failures) from None
        return TranslationsDone(translations=[task.result() for task in tasks])

    @activity.defn(name=POST_PROCESS_MEDIA.name)
    async def post_process_media(self, request: PostProcessInput) -> MediaJobResult:
        """Verify every segment came back, flag machine translations, store everything, notify once."""
        return await self._results.finish(request)

    @activity.defn(name=RECORD_MEDIA_FAILURE.name)
    async def record_media_failure(self, failure: RecordFailureInput) -> FailureRecorded:
        """Mark the job FAILED in Postgres and send its whole story to the media dead-letter queue once.

        The dead-letter message keeps the request exactly as submitted (rejected input is
        quarantined there, never dropped); the Postgres row is written when the job id fits
        its column, with over-long codes cut to theirs.
        """
        request = failure.request
        workflow_id = media_workflow_id(request.job_id)
        if re.match(JOB_ID_PATTERN, request.job_id):
            await self._save_failure(failure)
        story = {
            "event": "media.failed",
            "workflow_id": workflow_id,
            **asdict(request),
            "failed_step": failure.failed_step,
            "error_type": failure.error_type,
            "reason": failure.reason,
        }
        key = f"{workflow_id}:failed" if len(workflow_id) <= 250 else f"media-sha256-{_digest(workflow_id)}:failed"
        # The ledger's subject column holds 100 characters.
        subject = f"Media job {request.job_id} failed"[:100]
        sent = await self._notifier.send_once(key, self._resources.media_dlq, subject, json.dumps(story))
        return FailureRecorded(dead_letter_id=sent.message_id)

    async def _save_failure(self, failure: RecordFailureInput) -> None:
        request = failure.request
        values: dict[str, Any] = {
            "status": "FAILED",
            "failed_step": failure.failed_step[:50],
            "failure_type": failure.error_type[:100],
            "failure_reason": failure.reason,
        }
        async with self._sessions.begin() as session:
            await session.execute(
                insert(MediaJob)
                .values(
                    job_id=request.job_id,
                    workflow_id=media_workflow_id(request.job_id),
                    media_uri=request.media_uri,
                    language_code=request.language_code[:10],
                    target_languages=[code[:10] for code in request.target_languages],
                    owner=request.owner,
                    **values,
                )
                .on_conflict_do_update(index_elements=[MediaJob.job_id], set_=values)
            )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
