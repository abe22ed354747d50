"""`/media-jobs`: transcribe a media file and translate it; read a job's status.

An operator reaches every job; a partner creates jobs it owns (ids in its own namespace,
see :mod:`worker.api.auth`), from its own input locations only, and reads only those:
another's job answers 404 exactly like a missing one. The rules the service checks
(language codes, limits) are also in the request's schema.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from activities.common.resources import Resources
from activities.media.contracts import (
    DEFAULT_MAX_WAIT_SECONDS,
    DEFAULT_POLL_INTERVAL_SECONDS,
    JOB_ID_PATTERN,
    MediaJobRequest,
)
from activities.media.languages import TRANSCRIBE_LANGUAGES, TRANSLATE_LANGUAGES, translate_source_language
from worker.api.app import ApiServices, api_aws
from worker.api.auth import AnyCaller, Caller, configured_partners
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import Line
from worker.api.ratelimit import RateLimitedCaller
from worker.services import media

router = APIRouter(prefix="/media-jobs", tags=["media"])

CHOSEN_JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,58}$"
"""A job id a caller chooses: short enough that a partner's ``<partner>.<id>`` is still a job id."""
MEDIA_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\x00-\x1F\x7F]*[^/\x00-\x1F\x7F]$"
"""``s3://bucket/key`` with a valid bucket name and a key naming an object (not a folder)."""
SPOKEN_LANGUAGES: list[JsonValue] = [
    code for code in sorted(TRANSCRIBE_LANGUAGES) if translate_source_language(code) is not None
]
"""Transcribe language codes whose transcript Translate can translate."""
TARGET_LANGUAGES: list[JsonValue] = [code for code in sorted(TRANSLATE_LANGUAGES)]

JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The job id the submission returned.")]


class MediaJobCreate(BaseModel):
    """A media job: which file, which language is spoken, which languages to translate into."""

    model_config = ConfigDict(extra="forbid")

    # The service checks each rule with its own message (the CLI shares it); the schema states them.
    job_id: str | None = Field(
        default=None,
        description="Your id for the job; the same id returns the same job. Default: a new one.",
        json_schema_extra={"pattern": CHOSEN_JOB_ID_PATTERN},
    )
    media_uri: Line = Field(
        max_length=1100,
        description="s3://bucket/key of the audio or video file, in a location you may submit media from.",
        json_schema_extra={"pattern": MEDIA_URI_PATTERN},
    )
    language: str = Field(
        description="Amazon Transcribe language code of the speech, e.g. en-US.",
        json_schema_extra={"enum": SPOKEN_LANGUAGES},
    )
    targets: list[str] = Field(
        description="Amazon Translate language codes to translate into, e.g. [es, fr]; not the speech's own.",
        json_schema_extra={"minItems": 1, "uniqueItems": True, "items": {"enum": TARGET_LANGUAGES}},
    )
    poll_interval_seconds: float = Field(
        default=DEFAULT_POLL_INTERVAL_SECONDS,
        description="Seconds between checks of the transcription job.",
        json_schema_extra={"minimum": media.MIN_POLL_INTERVAL_SECONDS, "maximum": media.MAX_WAIT_LIMIT_SECONDS},
    )
    max_wait_seconds: float = Field(
        default=DEFAULT_MAX_WAIT_SECONDS,
        description="Longest the transcription may take before the job fails; at least the poll interval.",
        json_schema_extra={"minimum": media.MIN_POLL_INTERVAL_SECONDS, "maximum": media.MAX_WAIT_LIMIT_SECONDS},
    )


class MediaJobAccepted(BaseModel):
    """Where to follow a submitted job."""

    job_id: str
    workflow_id: str
    created: bool
    status_url: str


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def _invalid(error: media.MediaRequestInvalid) -> JSONResponse:
    """The same 422 body as the app's validation handler: the field and why."""
    return JSONResponse(
        {"detail": str(error), "errors": [{"field": error.field, "message": error.message}]}, status_code=422
    )


async def _require_own(services: ApiServices, caller: Caller, job_id: str) -> None:
    """404 unless the job exists and the caller may reach it (another's looks missing)."""
    try:
        owner = await media.media_job_owner(services.client, services.sessions, job_id)
    except media.MediaJobNotFound:
        raise _not_found(job_id) from None
    if not caller.owns(owner):
        raise _not_found(job_id)


def _not_found(job_id: str) -> HTTPException:
    return HTTPException(404, f"no media job {job_id!r}")


@router.post("", status_code=202, response_model=MediaJobAccepted, responses=error_responses(*AUTHENTICATED, 409, 429))
async def submit(body: MediaJobCreate, request: Request, response: Response, caller: RateLimitedCaller) -> Any:
    """Start the media pipeline (or find the job this id started); nothing starts if the request is invalid."""
    job = MediaJobRequest(
        job_id=caller.new_id(body.job_id or str(uuid.uuid4()), "job_id", configured_partners(request)),
        media_uri=body.media_uri,
        language_code=body.language,
        target_languages=list(body.targets),
        poll_interval_seconds=body.poll_interval_seconds,
        max_wait_seconds=body.max_wait_seconds,
        owner=caller.owner,
    )
    settings = request.app.state.settings
    allowed = media.input_locations(settings.media, Resources(prefix=settings.aws.name_prefix), caller.owner)
    services = _services(request)
    try:
        submitted = await media.submit_media_job(services.client, services.task_queue, api_aws(request), job, allowed)
    except media.MediaRequestInvalid as error:
        return _invalid(error)
    except media.MediaJobConflict as conflict:
        raise HTTPException(409, str(conflict)) from None
    status_url = str(request.url_for("media_job_status", job_id=submitted.job_id))
    response.headers["Location"] = status_url
    return MediaJobAccepted(
        job_id=submitted.job_id, workflow_id=submitted.workflow_id, created=submitted.created, status_url=status_url
    )


@router.get(
    "/{job_id}",
    name="media_job_status",
    response_model=media.MediaJobView,
    responses=error_responses(*AUTHENTICATED, 404),
)
async def status(job_id: JobId, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The job's status, current step, transcript and translations, or failure reason."""
    services = _services(request)
    if not caller.is_operator:  # before any read of the workflow: another's job is never touched
        await _require_own(services, caller, job_id)
    try:
        view = await media.media_job_status(services.client, services.sessions, job_id)
    except media.MediaJobNotFound:
        raise _not_found(job_id) from None
    return view.as_dict()
