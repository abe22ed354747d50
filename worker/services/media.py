"""Media job operations for the API and the CLI: check at the edge, start, read status.

Everything is checked before anything starts: the URI's shape, that it lies in a location
the caller may read media from (``STEPWISE_MEDIA__INPUT_LOCATIONS``; checked before the
HEAD, so whether an object exists elsewhere is never revealed), the object's existence
(HEAD), the language codes. A job's workflow id is ``media-<job id>``: submitting the
same job twice finds the first workflow (running or finished) instead of starting a
second; the same id with a different request is a conflict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.common.aws import AwsClients
from activities.common.contracts import AWS_ACCESS_DENIED, AWS_NOT_FOUND
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.common.s3_uri import InvalidS3Uri, parse_s3_uri
from activities.media.contracts import JOB_ID_PATTERN, PIPELINE, MediaJobRequest, MediaProgress
from activities.media.keys import media_workflow_id
from activities.media.languages import TRANSCRIBE_LANGUAGES, TRANSLATE_LANGUAGES, translate_source_language
from activities.models.media import MediaJob, MediaTranslation
from worker.services.starting import OWNER_MEMO, BusinessKeyReused, NoSuchRecord, record_owner, start_once
from worker.settings import ANY_PARTNER, OPERATOR_CALLER, MediaSettings
from workflows.media.workflow import MediaWorkflow

MIN_POLL_INTERVAL_SECONDS = 1.0
MAX_WAIT_LIMIT_SECONDS = 7 * 24 * 3600.0


class MediaRequestInvalid(ValueError):
    """A request the pipeline cannot run; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class MediaJobNotFound(LookupError):
    """No record and no workflow with this job id."""


class MediaJobConflict(ValueError):
    """The job id was used before for a different request."""


@dataclass(frozen=True)
class Submitted:
    """The job a submission maps to."""

    job_id: str
    workflow_id: str
    created: bool
    """False when the job id was already known (nothing new was started)."""


@dataclass(frozen=True)
class MediaJobView:
    """A job's record (once finished) and, while it runs, its progress."""

    job_id: str
    workflow_id: str
    status: str
    """RUNNING, COMPLETED or FAILED (or the workflow's own status if it was terminated)."""
    workflow_status: str | None = None
    current_step: str | None = None
    completed_steps: list[str] = field(default_factory=list)
    poll_attempt: int | None = None
    """While waiting for Transcribe: the number of the current GetTranscriptionJob attempt."""
    media_uri: str | None = None
    language_code: str | None = None
    target_languages: list[str] = field(default_factory=list)
    transcript_uri: str | None = None
    transcript: str | None = None
    polls: int | None = None
    manifest_uri: str | None = None
    translations: list[dict[str, Any]] = field(default_factory=list)
    failed_step: str | None = None
    failure_reason: str | None = None
    owner: str | None = None
    """The partner who submitted the job; None when an operator did."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def check_request(request: MediaJobRequest) -> None:
    """Raise :class:`MediaRequestInvalid` for the first field that cannot work."""
    if not re.fullmatch(JOB_ID_PATTERN, request.job_id):
        raise MediaRequestInvalid("job_id", f"must be 1-100 letters, digits, '.', '_' or '-' (got {request.job_id!r})")
    try:
        parse_s3_uri(request.media_uri)
    except InvalidS3Uri as error:
        raise MediaRequestInvalid("media_uri", str(error)) from None
    if request.language_code not in TRANSCRIBE_LANGUAGES:
        raise MediaRequestInvalid("language", f"{request.language_code!r} is not an Amazon Transcribe language code")
    source = translate_source_language(request.language_code)
    if source is None:
        raise MediaRequestInvalid("language", f"Amazon Translate cannot translate from {request.language_code}")
    _check_targets(request.target_languages, source)
    if not MIN_POLL_INTERVAL_SECONDS <= request.poll_interval_seconds <= MAX_WAIT_LIMIT_SECONDS:  # nan too
        raise MediaRequestInvalid(
            "poll_interval_seconds",
            f"must be between {MIN_POLL_INTERVAL_SECONDS:g} and {MAX_WAIT_LIMIT_SECONDS:g} seconds",
        )
    if not request.poll_interval_seconds <= request.max_wait_seconds <= MAX_WAIT_LIMIT_SECONDS:
        raise MediaRequestInvalid(
            "max_wait_seconds", f"must be between the poll interval and {MAX_WAIT_LIMIT_SECONDS:g} seconds"
        )


def _check_targets(targets: list[str], source: str) -> None:
    if not targets:
        raise MediaRequestInvalid("targets", "at least one target language is required")
    for target in targets:
        if target not in TRANSLATE_LANGUAGES:
            raise MediaRequestInvalid("targets", f"{target!r} is not an Amazon Translate language code")
        if target == source:
            raise MediaRequestInvalid("targets", f"{target!r} is the language of the speech")
    if len(set(targets)) != len(targets):
        raise MediaRequestInvalid("targets", "each target language may appear once")


def input_locations(settings: MediaSettings, resources: Resources, partner_id: str | None) -> list[str]:
    """The ``s3://bucket/prefix/`` locations a caller (None: an operator) may submit media from."""
    if partner_id is None:
        configured = settings.input_locations.get(OPERATOR_CALLER, [])
    else:
        configured = settings.input_locations.get(partner_id, settings.input_locations.get(ANY_PARTNER, []))
    return [location.format(media_bucket=resources.media_bucket, partner=partner_id) for location in configured]


def check_media_location(media_uri: str, allowed: Sequence[str]) -> None:
    """Refuse media outside ``allowed``, with one answer whether or not the object exists."""
    location = parse_s3_uri(media_uri)
    # S3 keys are literal, but an HTTP layer on the way may resolve dot segments: refuse them.
    if any(segment in (".", "..") for segment in location.key.split("/")):
        raise MediaRequestInvalid("media_uri", "must not contain '.' or '..' path segments")
    if not any(location.uri.startswith(prefix) for prefix in allowed):
        raise MediaRequestInvalid("media_uri", "is not in a location you may submit media from")


async def check_media_exists(aws: AwsClients, media_uri: str) -> None:
    """HEAD the media object; a missing or unreadable object is an invalid request."""
    location = parse_s3_uri(media_uri)
    try:
        await aws.call("s3", "head_object", Bucket=location.bucket, Key=location.key)
    except ApplicationError as error:
        if error.type == AWS_NOT_FOUND:
            raise MediaRequestInvalid("media_uri", f"no object at {media_uri}") from None
        if error.type == AWS_ACCESS_DENIED:
            raise MediaRequestInvalid("media_uri", f"access to {media_uri} is denied") from None
        raise


async def submit_media_job(
    client: Client, task_queue: str, aws: AwsClients, request: MediaJobRequest, allowed: Sequence[str]
) -> Submitted:
    """Check the request (media only from ``allowed``), then start the job or find the one its id started."""
    check_request(request)
    check_media_location(request.media_uri, allowed)
    await check_media_exists(aws, request.media_uri)
    return await start_media_job(client, task_queue, request)


async def start_media_job(client: Client, task_queue: str, request: MediaJobRequest) -> Submitted:
    """Start the job of an already checked request, or find the one its id already started."""
    workflow_id = media_workflow_id(request.job_id)
    try:
        created = await start_once(
            client,
            MediaWorkflow.run,
            request,
            workflow_id=workflow_id,
            task_queue=task_queue,
            pipeline=PIPELINE,
            business_key=request.job_id,
            owner=request.owner,
        )
    except BusinessKeyReused:
        raise MediaJobConflict(f"job id {request.job_id!r} was already used for a different request") from None
    return Submitted(request.job_id, workflow_id, created=created)


async def media_job_owner(client: Client, sessions: SessionMaker, job_id: str) -> str | None:
    """The partner who submitted the job (None: an operator); :class:`MediaJobNotFound` if none exists."""
    try:
        return await record_owner(client, sessions, MediaJob, job_id, media_workflow_id(job_id))
    except NoSuchRecord:
        raise MediaJobNotFound(f"no media job {job_id!r}") from None


async def media_job_status(client: Client, sessions: SessionMaker, job_id: str) -> MediaJobView:
    """The job's record and live progress; :class:`MediaJobNotFound` if neither exists.

    The workflow is asked first: the job's row is committed (by post-processing, or by the
    failure's record) before the workflow finishes, so the row read afterwards is never older
    than the workflow's status shown (read the other way round, a view could say RUNNING with
    no record beside a workflow already COMPLETED).
    """
    live = await _live(client, media_workflow_id(job_id))
    async with sessions() as session:
        row = await session.get(MediaJob, job_id)
        translations = (
            await session.scalars(
                select(MediaTranslation)
                .where(MediaTranslation.job_id == job_id)
                .order_by(MediaTranslation.language_code)
            )
        ).all()
    if row is None and live is None:
        raise MediaJobNotFound(f"no media job {job_id!r}")
    view: dict[str, Any] = {"job_id": job_id, "workflow_id": media_workflow_id(job_id), "status": "RUNNING"}
    if live is not None:
        view.update(live)
    if row is not None:
        view.update(_record(row, list(translations)))
    return MediaJobView(**view)


async def _live(client: Client, workflow_id: str) -> dict[str, Any] | None:
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    status = description.status.name if description.status else None
    live: dict[str, Any] = {"workflow_status": status, "owner": await description.memo_value(OWNER_MEMO, None)}
    if description.status != WorkflowExecutionStatus.RUNNING:
        if status not in ("COMPLETED", "FAILED"):
            live["status"] = status
        return live
    progress: MediaProgress = await handle.query(MediaWorkflow.progress)
    live.update(current_step=progress.current_step, completed_steps=progress.completed_steps)
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name == "await_transcript":
            live["poll_attempt"] = pending.attempt
    return live


def _record(row: MediaJob, translations: list[MediaTranslation]) -> dict[str, Any]:
    return {
        "status": row.status,
        "owner": row.owner,
        "media_uri": row.media_uri,
        "language_code": row.language_code,
        "target_languages": list(row.target_languages),
        "transcript_uri": row.transcript_uri,
        "transcript": row.transcript,
        "polls": row.polls,
        "manifest_uri": row.manifest_uri,
        "failed_step": row.failed_step,
        "failure_reason": row.failure_reason,
        "translations": [
            {
                "language": t.language_code,
                "text_uri": t.text_uri,
                "segments_uri": t.segments_uri,
                "segments": t.segment_count,
                "machine_translated_segments": t.machine_translated_segments,
                "text": t.translated_text,
            }
            for t in translations
        ],
    }
