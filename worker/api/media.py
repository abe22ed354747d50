"""`/media-jobs`: transcribe a media file and translate it; read a job's status."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from activities.aws import AwsClients
from activities.media_types import DEFAULT_MAX_WAIT_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS, MediaJobRequest
from worker.api.app import ApiServices
from worker.api.auth import AnyCaller
from worker.services import media

router = APIRouter(prefix="/media-jobs", tags=["media"])


class MediaJobCreate(BaseModel):
    """A media job: which file, which language is spoken, which languages to translate into."""

    model_config = ConfigDict(extra="forbid")

    job_id: str | None = Field(
        default=None, description="Your id for the job; the same id returns the same job. Default: a new one."
    )
    media_uri: str = Field(description="s3://bucket/key of the audio or video file.")
    language: str = Field(description="Amazon Transcribe language code of the speech, e.g. en-US.")
    targets: list[str] = Field(description="Amazon Translate language codes to translate into, e.g. [es, fr].")
    poll_interval_seconds: float = Field(
        default=DEFAULT_POLL_INTERVAL_SECONDS, description="Seconds between checks of the transcription job."
    )
    max_wait_seconds: float = Field(
        default=DEFAULT_MAX_WAIT_SECONDS, description="Longest the transcription may take before the job fails."
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


def _aws(request: Request) -> AwsClients:
    """One set of boto3 clients per app, created on first use (never at import)."""
    if not hasattr(request.app.state, "media_aws"):
        request.app.state.media_aws = AwsClients()
    aws: AwsClients = request.app.state.media_aws
    return aws


def _invalid(error: media.MediaRequestInvalid) -> JSONResponse:
    """The same 422 body as the app's validation handler: the field and why."""
    return JSONResponse(
        {"detail": str(error), "errors": [{"field": error.field, "message": error.message}]}, status_code=422
    )


@router.post("", status_code=202, response_model=MediaJobAccepted, responses={422: {}, 409: {}})
async def submit(body: MediaJobCreate, request: Request, response: Response, caller: AnyCaller) -> Any:
    """Start the media pipeline (or find the job this id started); nothing starts if the request is invalid."""
    job = MediaJobRequest(
        job_id=body.job_id or str(uuid.uuid4()),
        media_uri=body.media_uri,
        language_code=body.language,
        target_languages=list(body.targets),
        poll_interval_seconds=body.poll_interval_seconds,
        max_wait_seconds=body.max_wait_seconds,
    )
    services = _services(request)
    try:
        submitted = await media.submit_media_job(services.client, services.task_queue, _aws(request), job)
    except media.MediaRequestInvalid as error:
        return _invalid(error)
    except media.MediaJobConflict as conflict:
        raise HTTPException(409, str(conflict)) from None
    status_url = str(request.url_for("media_job_status", job_id=submitted.job_id))
    response.headers["Location"] = status_url
    return MediaJobAccepted(
        job_id=submitted.job_id, workflow_id=submitted.workflow_id, created=submitted.created, status_url=status_url
    )


@router.get("/{job_id}", name="media_job_status")
async def status(job_id: str, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The job's status, current step, transcript and translations, or failure reason."""
    services = _services(request)
    try:
        view = await media.media_job_status(services.client, services.sessions, job_id)
    except media.MediaJobNotFound as missing:
        raise HTTPException(404, str(missing)) from None
    return view.as_dict()
