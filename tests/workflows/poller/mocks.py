"""Name-matched stand-ins for the poller's activities, for workflow-logic tests on the time-skipping server.

``MockPoller`` plays a partner API of ``pages`` pages and the job's Postgres rows, and records
every call. Its switches:

* ``unavailable``: pages whose fetch always raises a retryable ``PartnerApiUnavailable``
  (the policy's five attempts run out and the page parks for an operator). The error asks
  for the next attempt after ``retry_after``, as the real one does from a partner's
  ``Retry-After``: a test can then wait for the park with time skipping locked. (The
  time-skipping server, unlocked while a step is parked, has nothing left to run and skips
  straight to the workflows' default ten-year execution timeout.) ``retry_after=None``
  leaves the policy's own backoff;
* ``refused``: pages whose fetch raises a non-retryable ``PartnerApiRefused`` (the page's
  task fails at once, the job goes on);
* ``url_refused``: preparing the job raises a non-retryable ``PollerUrlRefused``;
* ``fetch_seconds``: how long each fetch takes (so that pages overlap and the in-flight
  bound is observable).

Step control's own activities (the decision audit, the attention notice) are stood in for
as well, since a parked page notifies and a decision is audited.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.contracts import (
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    ActivityRef,
    AttentionNotice,
    DecisionAudit,
)
from activities.poller import contracts
from activities.poller.contracts import (
    AWAIT_TASKS,
    FAIL_TASK,
    FAILED,
    FETCH_PAGE,
    FINISH_JOB,
    PARTNER_API_REFUSED,
    PARTNER_API_UNAVAILABLE,
    PREPARE_JOB,
    PURGE_TASKS,
    RECORD_JOB_FAILURE,
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
    raw_key,
    task_id,
)
from tests.support.mocks import covering, mock_activity, step_control_mocks

POLLER_ACTIVITIES: list[ActivityRef[Any, Any]] = [
    value for value in vars(contracts).values() if isinstance(value, ActivityRef)
]
"""Every activity the poller's contracts declare (a new one must get a stand-in here)."""
PAGE_SIZE = 100


@dataclass
class MockPoller:
    """A partner API of ``pages`` pages and the job's rows, recording every call."""

    pages: int = 3
    unavailable: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    url_refused: bool = False
    fetch_seconds: float = 0.0
    retry_after: timedelta | None = timedelta(milliseconds=10)

    calls: list[str] = field(default_factory=list)
    """Activity names, one per first attempt (fetches are counted in ``fetches``)."""
    fetches: list[int] = field(default_factory=list)
    """The page of every fetch attempt, in the order they started."""
    enqueued: list[int] = field(default_factory=list)
    """Pages fetched successfully."""
    failed_tasks: list[PageTask] = field(default_factory=list)
    job_failures: list[JobFailure] = field(default_factory=list)
    audits: list[DecisionAudit] = field(default_factory=list)
    notices: list[AttentionNotice] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    """Most fetches running at once."""

    def attempts(self, page: int) -> int:
        """How many times ``page`` was fetched."""
        return Counter(self.fetches)[page]

    def _first(self, name: str) -> None:
        if activity.info().attempt == 1:
            self.calls.append(name)

    def activities(self) -> list[Callable[..., Any]]:
        """The activity functions to register (the poller's and step control's)."""

        @mock_activity(PREPARE_JOB)
        async def prepare_job(job: JobRequest) -> JobPlan:
            self._first(PREPARE_JOB.name)
            if self.url_refused:
                raise ApplicationError(
                    f"{job.url} is not a registered base URL of partner {job.partner}",
                    type=URL_REFUSED,
                    non_retryable=True,
                )
            return JobPlan(job.job_id, self.pages, self.pages * PAGE_SIZE, PAGE_SIZE)

        @mock_activity(FETCH_PAGE)
        async def fetch_page(task: PageTask) -> PageFetched:
            self.fetches.append(task.page)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.fetch_seconds:
                    await asyncio.sleep(self.fetch_seconds)
                if task.page in self.unavailable:
                    raise ApplicationError(
                        f"partner {task.partner} answered 503 for page {task.page}",
                        type=PARTNER_API_UNAVAILABLE,
                        next_retry_delay=self.retry_after,
                    )
                if task.page in self.refused:
                    raise ApplicationError(
                        f"{task.url}pages/{task.page} answered 404: no such page",
                        type=PARTNER_API_REFUSED,
                        non_retryable=True,
                    )
            finally:
                self.in_flight -= 1
            self.enqueued.append(task.page)
            return PageFetched(raw_key(task.partner, task.job_id, task.page), PAGE_SIZE)

        @mock_activity(FAIL_TASK)
        async def fail_task(task: PageTask) -> None:
            self._first(FAIL_TASK.name)
            self.failed_tasks.append(task)

        @mock_activity(AWAIT_TASKS)
        async def await_tasks(job: JobRef) -> None:
            self._first(AWAIT_TASKS.name)

        @mock_activity(FINISH_JOB)
        async def finish_job(job: JobRef) -> JobSummary:
            self._first(FINISH_JOB.name)
            failed = len(self.failed_tasks)
            return JobSummary(
                job_id=job.job_id,
                partner="acme",
                status="COMPLETED_WITH_FAILURES" if failed else "COMPLETED",
                counts={SUCCEEDED: self.pages - failed, FAILED: failed, "Total": self.pages},
                duration_seconds=1.0,
                failures=[
                    {"page": str(t.page), "task": task_id(t.page), "error": t.reason}
                    for t in sorted(self.failed_tasks, key=lambda t: t.page)
                ],
            )

        @mock_activity(RECORD_JOB_FAILURE)
        async def record_job_failure(failure: JobFailure) -> None:
            self._first(RECORD_JOB_FAILURE.name)
            self.job_failures.append(failure)

        @mock_activity(PURGE_TASKS)
        async def purge_tasks(request: RetentionRequest) -> RetentionResult:
            self._first(PURGE_TASKS.name)
            return RetentionResult(tasks=0, objects=0)

        return covering(
            [*POLLER_ACTIVITIES, RECORD_DECISION, NOTIFY_ATTENTION],
            [
                prepare_job,
                fetch_page,
                fail_task,
                await_tasks,
                finish_job,
                record_job_failure,
                purge_tasks,
                *step_control_mocks(self.audits, self.notices),
            ],
        )
