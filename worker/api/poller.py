"""`/jobs` and `/poller-schedules`: synchronise a partner's paged API, now or on a schedule.

An operator starts a job for any registered partner and reads every job; a partner may
start a job for its own data only (job ids in its own namespace, ``<partner>.<id>``) and
reads only the jobs it started: another's answers 404 like a missing one. Schedules are
the operators'. Every URL is checked before anything starts (registered for the partner,
on an address the worker may reach, no redirect): see :mod:`worker.services.poller`.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from activities.models.poller import PollerJob
from activities.poller.contracts import JOB_ID_PATTERN
from worker.api.app import ApiServices
from worker.api.auth import AnyCaller, Caller, Operator, configured_partners
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.fields import Line
from worker.api.ratelimit import RateLimitedCaller
from worker.services import poller as service
from worker.settings import PARTNER_ID_PATTERN

router = APIRouter(tags=["poller"])

CHOSEN_JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,58}$"
"""A job id a caller chooses: short enough that a partner's ``<partner>.<id>`` is still a job id."""
URL_FIELD = Field(
    max_length=2048,
    description="The partner API's base URL (ending in '/'), under one of the partner's registered base URLs.",
    json_schema_extra={"pattern": r"^https?://[^\s]+/$"},
)
JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The job id the start returned.")]
PartnerId = Annotated[str, Path(pattern=PARTNER_ID_PATTERN, description="A registered partner id.")]


class JobCreate(BaseModel):
    """Walk every page of a partner's API into ``partner_records``."""

    model_config = ConfigDict(extra="forbid")

    url: Line = URL_FIELD
    partner: str = Field(pattern=PARTNER_ID_PATTERN, description="The partner whose API it is (registered).")
    job_id: str | None = Field(
        default=None,
        description="Your id for the job; the same id returns the same job. Default: a new one.",
        pattern=CHOSEN_JOB_ID_PATTERN,
    )


class JobAccepted(BaseModel):
    """Where to follow a started job."""

    job_id: str
    workflow_id: str
    created: bool
    status_url: str


class ScheduleCreate(BaseModel):
    """A full synchronisation of one partner, every ``every`` (overlapping runs are skipped)."""

    model_config = ConfigDict(extra="forbid")

    partner: str = Field(pattern=PARTNER_ID_PATTERN, description="The partner (registered).")
    url: Line = URL_FIELD
    every: str = Field(
        description="How often: a number and a unit (s, m, h, d), from 1m to 31d.",
        json_schema_extra={"pattern": r"^\d{1,6}[smhd]$"},
        max_length=7,
    )


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def _invalid(error: service.PollerRequestInvalid) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error), "errors": [{"field": error.field, "message": error.message}]}, status_code=422
    )


def _not_found(job_id: str) -> HTTPException:
    return HTTPException(404, f"no poller job {job_id!r}")


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobAccepted,
    responses=error_responses(*AUTHENTICATED, 403, 409, 429),
)
async def start_job(body: JobCreate, request: Request, response: Response, caller: RateLimitedCaller) -> Any:
    """Start a job (or find the one this id started); nothing is fetched if the URL is refused."""
    if not caller.may_access_partner(body.partner):
        raise HTTPException(403, "a partner may start jobs for its own data only")
    settings = request.app.state.settings
    job = service.job_request(
        settings,
        body.partner,
        body.url,
        caller.new_id(body.job_id or str(uuid.uuid4()), "job_id", configured_partners(request)),
    )
    services = _services(request)
    try:
        submitted = await service.submit_job(
            services.client, services.task_queue, service.poller_access(settings), job, owner=caller.owner
        )
    except service.PollerRequestInvalid as error:
        return _invalid(error)
    except service.PollerJobConflict as conflict:
        raise HTTPException(409, str(conflict)) from None
    status_url = str(request.url_for("poller_job_status", job_id=submitted.job_id))
    response.headers["Location"] = status_url
    return JobAccepted(
        job_id=submitted.job_id, workflow_id=submitted.workflow_id, created=submitted.created, status_url=status_url
    )


async def _require_own(services: ApiServices, caller: Caller, job_id: str) -> None:
    try:
        owner = await service.job_owner(services.client, services.sessions, job_id)
    except service.PollerJobNotFound:
        raise _not_found(job_id) from None
    if not caller.owns(owner):
        raise _not_found(job_id)


@router.get("/jobs/{job_id}", name="poller_job_status", responses=error_responses(*AUTHENTICATED, 404))
async def job_status(job_id: JobId, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The article's counts (``Started``, ``PayloadSaved``, ``Enqueued``, ``SuccessfullyCompleted``,
    ``FailedToComplete``, ``Total``, and ``Pending``), from Postgres, with the job's status and summary."""
    services = _services(request)
    if not caller.is_operator:  # before any read: another's job is never touched
        await _require_own(services, caller, job_id)
    try:
        view = await service.job_status(services.client, services.sessions, job_id)
    except service.PollerJobNotFound:
        raise _not_found(job_id) from None
    return view.as_dict()


@router.get("/jobs", responses=error_responses(*AUTHENTICATED, 403))
async def list_jobs(
    request: Request,
    caller: Operator,
    partner: Annotated[str, Query(pattern=f"^({PARTNER_ID_PATTERN[1:-1]})?$", description="Only this partner.")] = "",
) -> dict[str, Any]:
    """The latest 200 jobs, newest first (operators)."""
    services = _services(request)
    query = select(PollerJob).order_by(PollerJob.created_at.desc()).limit(200)
    if partner:
        query = query.where(PollerJob.partner_id == partner)
    async with services.sessions() as session:
        rows = (await session.scalars(query)).all()
    items = [
        {
            "job_id": row.job_id,
            "partner": row.partner_id,
            "status": row.status,
            "pages": row.pages,
            "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        }
        for row in rows
    ]
    return {"items": items, "count": len(items)}


@router.post("/poller-schedules", status_code=201, responses=error_responses(*AUTHENTICATED, 403))
async def create_schedule(body: ScheduleCreate, request: Request, caller: Operator) -> Any:
    """Create (or replace) the partner's synchronisation schedule."""
    settings = request.app.state.settings
    try:
        every = service.parse_every(body.every)
        schedule, created = await service.create_schedule(
            _services(request).client, settings, service.poller_access(settings), body.partner, body.url, every
        )
    except service.PollerRequestInvalid as error:
        return _invalid(error)
    return JSONResponse({**dataclasses.asdict(schedule), "created": created}, status_code=201 if created else 200)


@router.get("/poller-schedules", responses=error_responses(*AUTHENTICATED, 403))
async def list_schedules(request: Request, caller: Operator) -> dict[str, Any]:
    """Every partner's synchronisation schedule, its next runs and its recent jobs."""
    found = await service.list_schedules(_services(request).client)
    return {"items": [dataclasses.asdict(s) for s in found], "count": len(found)}


@router.delete("/poller-schedules/{partner}", status_code=204, responses=error_responses(*AUTHENTICATED, 403, 404))
async def delete_schedule(partner: PartnerId, request: Request, caller: Operator) -> Response:
    """Delete the partner's schedule (a job it started runs to its end)."""
    try:
        await service.delete_schedule(_services(request).client, partner)
    except service.ScheduleNotFound:
        raise HTTPException(404, f"no synchronisation schedule for {partner!r}") from None
    return Response(status_code=204)
