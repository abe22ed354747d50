"""The poller's activities: prepare a job, fetch one page (claim check + queue), settle a job.

Every activity is idempotent under retries and a killed worker:

* preparing inserts the job row and one task per page with ``ON CONFLICT DO NOTHING``;
* fetching a page looks at its task first: a page already enqueued is not fetched again,
  one whose payload is already in S3 is only enqueued; the S3 key is derived from the job
  and the page, so a repeated put overwrites and never adds an object. The queue may see a
  page's message twice (a worker dying between the send and the status update); the
  consumer stores records by key, so the second message changes nothing;
* marking a task failed deletes its payload object, if one was saved, so a skipped page
  leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, transaction
from activities.common.partner_http import PartnerResponse, partner_request
from activities.common.resources import Resources
from activities.models.poller import PollerJob, PollerTask
from activities.poller import tasks
from activities.poller.contracts import (
    AWAIT_TASKS,
    ENQUEUED,
    FAIL_TASK,
    FAILED,
    FETCH_PAGE,
    FINISH_JOB,
    PARTNER_API_REFUSED,
    PARTNER_API_UNAVAILABLE,
    PAYLOAD_SAVED,
    PREPARE_JOB,
    PURGE_TASKS,
    RECORD_JOB_FAILURE,
    STARTED,
    SUCCEEDED,
    URL_REFUSED,
    JobFailure,
    JobPlan,
    JobRef,
    JobRequest,
    JobSummary,
    PageFetched,
    PageTask,
    RetentionRequest,
    RetentionResult,
    job_workflow_id,
    raw_key,
    task_id,
)
from activities.poller.pages import PageRefused, parse_metadata, parse_page
from activities.poller.urls import PollerAccess, UrlRefused, check_url, guarded_session

MAX_FAILURES_LISTED = 100
AWAIT_POLL_SECONDS = 1.0
PURGE_BATCH = 1000


class PollerActivities:
    """Activities of ``PollerJobWorkflow`` and its slices."""

    def __init__(
        self,
        aws: AwsClients,
        sessions: SessionMaker,
        resources: Resources,
        access: PollerAccess,
        http: aiohttp.ClientSession | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._access = access
        self._http = http
        self._timeout = timeout_seconds

    def _session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the worker's loop; it resolves names through the guard.
        if self._http is None or self._http.closed:
            self._http = guarded_session(self._access, self._timeout)
        return self._http

    async def _get(self, partner: str, base: str, path: str) -> PartnerResponse:
        """GET ``base + path`` after checking the base again; redirects are answers, never followed."""
        url = base + path
        try:
            await check_url(self._access, partner, base)
        except UrlRefused as refused:
            raise ApplicationError(str(refused), type=URL_REFUSED, non_retryable=True) from None
        answer = await partner_request(
            self._session(),
            "GET",
            url,
            unavailable=PARTNER_API_UNAVAILABLE,
            partner=f"partner {partner}",
            max_bytes=self._access.max_page_bytes,
            allow_redirects=False,
            headers={"Accept": "application/json"},
        )
        if 300 <= answer.status < 400:
            raise ApplicationError(
                f"{url} redirects to {answer.location or 'nowhere'}; the poller follows no redirects",
                type=PARTNER_API_REFUSED,
                non_retryable=True,
            )
        if answer.status != 200:
            raise ApplicationError(
                f"{url} answered {answer.status}: {answer.text()}", type=PARTNER_API_REFUSED, non_retryable=True
            )
        if answer.truncated:
            raise ApplicationError(
                f"{url} answered more than {self._access.max_page_bytes} bytes",
                type=PARTNER_API_REFUSED,
                non_retryable=True,
            )
        return answer

    # ----- prepare ----------------------------------------------------------------------

    @activity.defn(name=PREPARE_JOB.name)
    async def prepare_job(self, job: JobRequest) -> JobPlan:
        """Read the partner's metadata and create one Pending task per page (once)."""
        answer = await self._get(job.partner, job.url, "metadata")
        try:
            metadata = parse_metadata(answer.body)
        except PageRefused as refused:
            raise ApplicationError(str(refused), type=PARTNER_API_REFUSED, non_retryable=True) from None
        if metadata.pages > self._access.max_pages:
            raise ApplicationError(
                f"metadata: {metadata.pages} pages, more than the {self._access.max_pages} a job may have",
                type=PARTNER_API_REFUSED,
                non_retryable=True,
            )
        async with transaction(self._sessions) as connection:
            await connection.execute(
                insert(PollerJob)
                .values(
                    job_id=job.job_id,
                    partner_id=job.partner,
                    owner=job.owner,
                    url=job.url,
                    workflow_id=job_workflow_id(job.job_id),
                    status="FETCHING",
                    total_records=metadata.total_records,
                    page_size=metadata.page_size,
                    pages=metadata.pages,
                )
                .on_conflict_do_nothing()
            )
            # One statement for any number of pages (a 10,000-page job is one round trip).
            await connection.execute(
                text(
                    "INSERT INTO poller_tasks (job_id, task_id, page, status) "
                    "SELECT :job, 'page-' || lpad(g::text, 6, '0'), g, 'Pending' "
                    "FROM generate_series(1, :pages) AS g ON CONFLICT DO NOTHING"
                ),
                {"job": job.job_id, "pages": metadata.pages},
            )
        return JobPlan(job.job_id, metadata.pages, metadata.total_records, metadata.page_size)

    # ----- one page ---------------------------------------------------------------------

    @activity.defn(name=FETCH_PAGE.name)
    async def fetch_page(self, page: PageTask) -> PageFetched:
        """Started -> fetch -> payload to S3 -> PayloadSaved -> message on the queue -> Enqueued."""
        name = task_id(page.page)
        key = raw_key(page.partner, page.job_id, page.page)
        async with self._sessions() as session:
            task = await session.get(PollerTask, (page.job_id, name))
        if task is None:
            raise ApplicationError(
                f"job {page.job_id} has no task {name}", type=PARTNER_API_REFUSED, non_retryable=True
            )
        if task.status in (ENQUEUED, SUCCEEDED, FAILED):
            return PageFetched(key, task.records or 0)  # a retry after the work was done
        records = task.records or 0
        if task.status != PAYLOAD_SAVED or not await self._object_exists(key):
            records = await self._fetch_and_save(page, name, key)
        await self._enqueue(page, name, key)
        async with transaction(self._sessions) as connection:
            await tasks.advance(connection, page.job_id, name, ENQUEUED)
        return PageFetched(key, records)

    async def _fetch_and_save(self, page: PageTask, name: str, key: str) -> int:
        async with transaction(self._sessions) as connection:
            # Counted before the request: attempts is what the partner was asked, whatever the outcome.
            await connection.execute(
                update(PollerTask)
                .where(PollerTask.job_id == page.job_id, PollerTask.task_id == name)
                .values(attempts=PollerTask.attempts + 1)
            )
            await tasks.advance(connection, page.job_id, name, STARTED)
        answer = await self._get(page.partner, page.url, f"pages/{page.page}")
        try:
            records = parse_page(answer.body)
        except PageRefused as refused:
            raise ApplicationError(
                f"page {page.page}: {refused}", type=PARTNER_API_REFUSED, non_retryable=True
            ) from None
        await self._aws.call(
            "s3",
            "put_object",
            Bucket=self._resources.poller_bucket,
            Key=key,
            Body=answer.body,
            ContentType="application/json",
        )
        async with transaction(self._sessions) as connection:
            await tasks.advance(connection, page.job_id, name, PAYLOAD_SAVED, s3_key=key, records=len(records))
        return len(records)

    async def _enqueue(self, page: PageTask, name: str, key: str) -> None:
        body = {
            "jobId": page.job_id,
            "taskId": name,
            "partner": page.partner,
            "page": page.page,
            "bucket": self._resources.poller_bucket,
            "key": key,
        }
        await self._aws.call(
            "sqs",
            "send_message",
            QueueUrl=await self._aws.queue_url(self._resources.poller_queue),
            MessageBody=json.dumps(body),
            MessageAttributes={
                "jobId": {"DataType": "String", "StringValue": page.job_id},
                "taskId": {"DataType": "String", "StringValue": name},
            },
        )

    async def _object_exists(self, key: str) -> bool:
        try:
            await self._aws.call("s3", "head_object", Bucket=self._resources.poller_bucket, Key=key)
        except ApplicationError as error:
            if error.non_retryable:  # not found (or not ours to read): fetch again
                return False
            raise
        return True

    @activity.defn(name=FAIL_TASK.name)
    async def fail_task(self, page: PageTask) -> None:
        """Mark the task FailedToComplete with the reason; delete its payload if one was saved."""
        name = task_id(page.page)
        async with transaction(self._sessions) as connection:
            await tasks.advance(connection, page.job_id, name, FAILED, error=page.reason[:2000])
        await self._aws.call(
            "s3",
            "delete_object",
            Bucket=self._resources.poller_bucket,
            Key=raw_key(page.partner, page.job_id, page.page),
        )

    # ----- the job's end ----------------------------------------------------------------

    @activity.defn(name=AWAIT_TASKS.name)
    async def await_tasks(self, job: JobRef) -> None:
        """Return once every task is terminal, asking Postgres every second and heartbeating the counts.

        One long attempt rather than the retry-as-poll pattern: the wait can last as long as a
        parked page does, and a failed attempt per second would fill the logs. A worker that
        dies mid-wait stops heartbeating, and the wait resumes on another.
        """
        while True:
            async with transaction(self._sessions) as connection:
                answer = await tasks.counts(connection, job.job_id)
            remaining = tasks.unfinished(answer)
            if not remaining:
                return
            activity.heartbeat(remaining)
            await asyncio.sleep(AWAIT_POLL_SECONDS)

    @activity.defn(name=FINISH_JOB.name)
    async def finish_job(self, job: JobRef) -> JobSummary:
        """Count the tasks, list the failures and record the summary on the job row."""
        async with transaction(self._sessions) as connection:
            answer = await tasks.counts(connection, job.job_id)
            failed = await connection.execute(
                select(PollerTask.page, PollerTask.task_id, PollerTask.error)
                .where(PollerTask.job_id == job.job_id, PollerTask.status == FAILED)
                .order_by(PollerTask.page)
                .limit(MAX_FAILURES_LISTED)
            )
            failures = [{"page": str(p), "task": t, "error": e or ""} for p, t, e in failed.all()]
            row = (
                await connection.execute(
                    update(PollerJob)
                    .where(PollerJob.job_id == job.job_id)
                    .values(
                        status="COMPLETED_WITH_FAILURES" if answer[FAILED] else "COMPLETED",
                        finished_at=func.coalesce(PollerJob.finished_at, func.now()),
                    )
                    .returning(PollerJob.partner_id, PollerJob.created_at, PollerJob.finished_at, PollerJob.status)
                )
            ).one()
            summary = JobSummary(
                job_id=job.job_id,
                partner=row.partner_id,
                status=row.status,
                counts=answer,
                duration_seconds=round((row.finished_at - row.created_at).total_seconds(), 3),
                failures=failures,
            )
            await connection.execute(
                update(PollerJob).where(PollerJob.job_id == job.job_id).values(summary=_summary_json(summary))
            )
        return summary

    @activity.defn(name=RECORD_JOB_FAILURE.name)
    async def record_job_failure(self, failure: JobFailure) -> None:
        """The job stopped before or between its pages: its row says FAILED and why."""
        async with transaction(self._sessions) as connection:
            await connection.execute(
                insert(PollerJob)
                .values(
                    job_id=failure.job_id,
                    partner_id=failure.partner,
                    owner=failure.owner,
                    url=failure.url,
                    workflow_id=job_workflow_id(failure.job_id),
                    status="FAILED",
                    reason=failure.reason[:2000],
                    finished_at=func.now(),
                )
                .on_conflict_do_update(
                    index_elements=[PollerJob.job_id],
                    set_={"status": "FAILED", "reason": failure.reason[:2000], "finished_at": func.now()},
                )
            )

    # ----- retention --------------------------------------------------------------------

    @activity.defn(name=PURGE_TASKS.name)
    async def purge_tasks(self, request: RetentionRequest) -> RetentionResult:
        """Delete tasks of finished jobs untouched for ``days``, and any payload they still hold."""
        purged = objects = 0
        while True:
            async with transaction(self._sessions) as connection:
                rows = (
                    await connection.execute(
                        select(PollerTask.job_id, PollerTask.task_id, PollerTask.s3_key)
                        .join(PollerJob, PollerJob.job_id == PollerTask.job_id)
                        .where(
                            PollerTask.updated_at < func.now() - timedelta(days=request.days),
                            PollerJob.finished_at.is_not(None),
                        )
                        .limit(PURGE_BATCH)
                        .with_for_update(of=PollerTask, skip_locked=True)
                    )
                ).all()
                keys = [row.s3_key for row in rows if row.s3_key]
                if keys:
                    # Objects before rows: a crash in between leaves the rows, and the next run
                    # deletes their (already gone) objects again; never an object without its row.
                    await self._aws.call(
                        "s3",
                        "delete_objects",
                        Bucket=self._resources.poller_bucket,
                        Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
                    )
                if rows:
                    await connection.execute(
                        delete(PollerTask).where(
                            tuple_(PollerTask.job_id, PollerTask.task_id).in_([(r.job_id, r.task_id) for r in rows])
                        )
                    )
            purged += len(rows)
            objects += len(keys)
            activity.heartbeat(purged)
            if len(rows) < PURGE_BATCH:
                return RetentionResult(tasks=purged, objects=objects)


def _summary_json(summary: JobSummary) -> dict[str, Any]:
    return {
        "status": summary.status,
        "counts": summary.counts,
        "duration_seconds": summary.duration_seconds,
        "failures": summary.failures,
    }
