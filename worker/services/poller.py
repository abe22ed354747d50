"""Poller jobs and schedules for the API and the CLI: check at the edge, start, read progress.

A job's URL is checked before anything starts (:mod:`activities.poller.urls`: registered
for the partner, on an address the worker may reach) and its metadata is requested once
with redirects off, so a URL that redirects elsewhere is refused here rather than failing
inside the worker. Progress is read from Postgres, where the tasks are: it is there at any
moment, whichever worker is doing what.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleInfo,
    ScheduleIntervalSpec,
    ScheduleListInfo,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from activities.common import search_attributes
from activities.common.db import SessionMaker
from activities.models.poller import PollerJob
from activities.poller import tasks
from activities.poller.contracts import (
    JOB_ID_PATTERN,
    PIPELINE,
    RETENTION_SCHEDULE_ID,
    SCHEDULE_PREFIX,
    JobRequest,
    RetentionRequest,
    job_workflow_id,
)
from activities.poller.urls import PollerAccess, UrlRefused, check_url, guarded_session
from worker.services.starting import BusinessKeyReused, NoSuchRecord, record_owner, start_once
from worker.settings import PARTNER_ID_PATTERN, Settings
from workflows.poller.job import PollerJobWorkflow
from workflows.poller.retention import PollerRetentionWorkflow

PREFLIGHT_TIMEOUT_SECONDS = 5.0
MIN_EVERY = timedelta(minutes=1)
MAX_EVERY = timedelta(days=31)
_EVERY = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class PollerRequestInvalid(ValueError):
    """A request the poller will not run; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PollerJobConflict(ValueError):
    """The job id was used before for a different partner or URL."""


class PollerJobNotFound(LookupError):
    """No job row and no workflow with this id."""


class ScheduleNotFound(LookupError):
    """No synchronisation schedule for this partner."""


def poller_access(settings: Settings) -> PollerAccess:
    """What the poller may fetch, from the settings (the worker fetches under the same rules)."""
    poller = settings.poller
    return PollerAccess(
        partners={partner: list(bases) for partner, bases in poller.partners.items()},
        allow_private_networks=poller.allow_private_networks,
        max_page_bytes=poller.max_page_bytes,
        max_pages=poller.max_pages,
    )


def job_request(settings: Settings, partner: str, url: str, job_id: str = "") -> JobRequest:
    """A job request with the settings' slice size and concurrency."""
    return JobRequest(
        partner=partner,
        url=url,
        job_id=job_id,
        slice_pages=settings.poller.slice_pages,
        max_in_flight=settings.poller.max_in_flight,
    )


async def check_request(access: PollerAccess, partner: str, url: str, job_id: str | None = None) -> None:
    """Every check that needs no partner request; :class:`PollerRequestInvalid` names the field."""
    if not re.fullmatch(PARTNER_ID_PATTERN, partner):
        raise PollerRequestInvalid("partner", "not a partner id")
    if job_id is not None and not re.fullmatch(JOB_ID_PATTERN, job_id):
        raise PollerRequestInvalid("job_id", f"must match {JOB_ID_PATTERN}")
    try:
        await check_url(access, partner, url)
    except UrlRefused as refused:
        raise PollerRequestInvalid(refused.field, refused.message) from None


async def preflight(access: PollerAccess, url: str) -> None:
    """Ask for the metadata once, redirects off: a redirect or a 4xx is refused now.

    The partner being down is not a reason to refuse: the job's own retries wait for it.
    """
    async with guarded_session(access, PREFLIGHT_TIMEOUT_SECONDS) as http:
        try:
            async with http.get(url + "metadata", allow_redirects=False) as response:
                status, location = response.status, response.headers.get("Location")
        except (TimeoutError, aiohttp.ClientError):
            return
    if 300 <= status < 400:
        raise PollerRequestInvalid("url", f"redirects to {location or 'nowhere'}; the poller follows no redirects")
    if 400 <= status < 500 and status != 429:
        raise PollerRequestInvalid("url", f"the partner API answered {status} for its metadata")


@dataclass(frozen=True)
class Submitted:
    """The job a submission maps to."""

    job_id: str
    workflow_id: str
    created: bool


async def submit_job(
    client: Client, task_queue: str, access: PollerAccess, request: JobRequest, *, owner: str | None
) -> Submitted:
    """Check, preflight and start the job once per id (nothing starts if a check fails)."""
    request = dataclasses.replace(request, owner=owner)
    await check_request(access, request.partner, request.url, request.job_id)
    await preflight(access, request.url)
    workflow_id = job_workflow_id(request.job_id)
    try:
        created = await start_once(
            client,
            PollerJobWorkflow.run,
            request,
            workflow_id=workflow_id,
            task_queue=task_queue,
            pipeline=PIPELINE,
            business_key=f"{request.partner}/job/{request.job_id}",
            owner=owner,
        )
    except BusinessKeyReused:
        raise PollerJobConflict(f"job {request.job_id!r} was started before with another partner or URL") from None
    return Submitted(request.job_id, workflow_id, created)


async def job_owner(client: Client, sessions: SessionMaker, job_id: str) -> str | None:
    """The partner who started the job (None: an operator or a schedule), or :class:`PollerJobNotFound`."""
    try:
        return await record_owner(client, sessions, PollerJob, job_id, job_workflow_id(job_id))
    except NoSuchRecord:
        raise PollerJobNotFound(job_id) from None


@dataclass
class JobView:
    """A job's progress: the article's counts, from Postgres, and what the job is."""

    job_id: str
    status: str
    counts: dict[str, int]
    partner: str | None = None
    url: str | None = None
    pages: int | None = None
    total_records: int | None = None
    reason: str | None = None
    summary: dict[str, Any] | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    workflow_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The counts at the top level (as the article answers), then the job's fields."""
        return {
            **self.counts,
            "job_id": self.job_id,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "partner": self.partner,
            "url": self.url,
            "pages": self.pages,
            "total_records": self.total_records,
            "reason": self.reason,
            "summary": self.summary,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


async def job_status(client: Client, sessions: SessionMaker, job_id: str) -> JobView:
    """The job's counts and row; before the row exists, ``PREPARING`` if its workflow does."""
    async with sessions() as session, session.begin():
        job = await session.get(PollerJob, job_id)
        counts = await tasks.counts(await session.connection(), job_id)
    workflow_id = job_workflow_id(job_id)
    if job is None:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise PollerJobNotFound(job_id) from None
            raise
        return JobView(job_id, "PREPARING", counts, workflow_id=workflow_id)
    return JobView(
        job_id=job_id,
        status=job.status,
        counts=counts,
        partner=job.partner_id,
        url=job.url,
        pages=job.pages,
        total_records=job.total_records,
        reason=job.reason,
        summary=job.summary,
        created_at=job.created_at,
        finished_at=job.finished_at,
        workflow_id=workflow_id,
    )


# ----- schedules ------------------------------------------------------------------------


def parse_every(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d`` -> a timedelta from a minute to 31 days."""
    match = _EVERY.fullmatch(text.strip())
    if match is None:
        raise PollerRequestInvalid("every", "must be a number and a unit: 30m, 1h, 1d")
    every = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not MIN_EVERY <= every <= MAX_EVERY:
        raise PollerRequestInvalid("every", "must be from 1m to 31d")
    return every


@dataclass(frozen=True)
class SyncSchedule:
    """A partner's full synchronisation schedule."""

    schedule_id: str
    partner: str
    url: str
    every_seconds: int
    next_runs: list[str] = field(default_factory=list)
    recent_jobs: list[str] = field(default_factory=list)


def schedule_id(partner: str) -> str:
    """The schedule id of a partner's synchronisation."""
    return SCHEDULE_PREFIX + partner


def _tags(key: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.PIPELINE, PIPELINE),
            SearchAttributePair(search_attributes.BUSINESS_KEY, key),
        ]
    )


async def create_schedule(
    client: Client, settings: Settings, access: PollerAccess, partner: str, url: str, every: timedelta
) -> tuple[SyncSchedule, bool]:
    """Create (or update) the partner's schedule; True when it was new. Overlapping runs are skipped."""
    await check_request(access, partner, url)
    await preflight(access, url)
    sid = schedule_id(partner)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PollerJobWorkflow.run,
            job_request(settings, partner, url),
            id=sid,  # each run's workflow id is this plus its time: poller-sync-<partner>-<time>
            task_queue=settings.worker.task_queue,
            typed_search_attributes=_tags(f"{partner}/schedule"),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    memo = {"partner": partner, "url": url, "every_seconds": int(every.total_seconds())}
    created = await _create_or_replace(client, sid, schedule, memo)
    return SyncSchedule(sid, partner, url, int(every.total_seconds())), created


async def _create_or_replace(client: Client, sid: str, schedule: Schedule, memo: dict[str, Any]) -> bool:
    try:
        await client.create_schedule(sid, schedule, memo=memo)
        return True
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        # The memo is fixed at creation; a changed URL or interval replaces the schedule.
        handle = client.get_schedule_handle(sid)
        description = await handle.describe()
        if dict(await description.memo()) == memo:
            await handle.update(replace)
            return False
        await handle.delete()
        await client.create_schedule(sid, schedule, memo=memo)
        return False


async def list_schedules(client: Client) -> list[SyncSchedule]:
    """Every partner's synchronisation schedule, with its next runs and recent jobs (one listing,
    no call per schedule; a schedule deleted a moment ago may still be listed)."""
    found: list[SyncSchedule] = []
    async for listed in await client.list_schedules():
        if not listed.id.startswith(SCHEDULE_PREFIX):
            continue
        partner = listed.id[len(SCHEDULE_PREFIX) :]
        if listed.info is None:  # a server without advanced visibility lists ids only
            try:
                found.append(await describe_schedule(client, partner))
            except ScheduleNotFound:
                continue  # deleted between the listing and its description
        else:
            found.append(_sync_schedule(listed.id, partner, dict(await listed.memo()), listed.info))
    return sorted(found, key=lambda s: s.partner)


async def describe_schedule(client: Client, partner: str) -> SyncSchedule:
    """One partner's schedule, or :class:`ScheduleNotFound`."""
    sid = schedule_id(partner)
    try:
        description = await client.get_schedule_handle(sid).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise ScheduleNotFound(partner) from None
        raise
    return _sync_schedule(sid, partner, dict(await description.memo()), description.info)


def _sync_schedule(sid: str, partner: str, memo: dict[str, Any], info: ScheduleListInfo | ScheduleInfo) -> SyncSchedule:
    return SyncSchedule(
        schedule_id=sid,
        partner=str(memo.get("partner", partner)),
        url=str(memo.get("url", "")),
        every_seconds=int(memo.get("every_seconds", 0)),
        next_runs=[t.isoformat() for t in info.next_action_times[:3]],
        recent_jobs=[
            a.action.workflow_id.removeprefix("poller-")
            for a in info.recent_actions[-5:]
            if hasattr(a.action, "workflow_id")
        ],
    )


async def delete_schedule(client: Client, partner: str) -> None:
    """Delete the partner's schedule (running jobs finish), or :class:`ScheduleNotFound`."""
    try:
        await client.get_schedule_handle(schedule_id(partner)).delete()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise ScheduleNotFound(partner) from None
        raise


async def ensure_retention_schedule(client: Client, settings: Settings) -> bool:
    """Create or update the schedule that purges old tasks; True when it was new."""
    every = timedelta(minutes=settings.poller.retention_every_minutes)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PollerRetentionWorkflow.run,
            RetentionRequest(days=settings.poller.retention_days),
            id=RETENTION_SCHEDULE_ID,
            task_queue=settings.worker.task_queue,
            typed_search_attributes=_tags("retention"),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    memo = {"retention_days": settings.poller.retention_days, "every_seconds": int(every.total_seconds())}
    return await _create_or_replace(client, RETENTION_SCHEDULE_ID, schedule, memo)
