"""The API poller's contracts (DESIGN §5.5): a job, its slices and pages, and the error types.

Plain data only, so the workflows can import it without any I/O library.

A job walks every page of one partner API. Its tasks (one per page) live in Postgres and go
through the article's states in order::

    Pending -> Started -> PayloadSaved -> Enqueued -> SuccessfullyCompleted
                     \\__________________________\\__> FailedToComplete

A page's payload travels as a claim check: the raw page is an S3 object under a key derived
from the job and the page, and only that key crosses history and the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef

PIPELINE = "poller"
WORKFLOW_PREFIX = "poller-"
"""Workflow id of a job: ``poller-<job id>``."""
SCHEDULE_PREFIX = "poller-sync-"
"""Schedule id of a partner's full synchronisation: ``poller-sync-<partner>``."""
RETENTION_SCHEDULE_ID = "poller-retention"
"""The schedule that purges old tasks."""
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
"""A job id: safe in a workflow id, an S3 key and a URL path."""

# --- Task states (the article's names) ----------------------------------------------

PENDING = "Pending"
STARTED = "Started"
PAYLOAD_SAVED = "PayloadSaved"
ENQUEUED = "Enqueued"
SUCCEEDED = "SuccessfullyCompleted"
FAILED = "FailedToComplete"
TASK_STATES = (PENDING, STARTED, PAYLOAD_SAVED, ENQUEUED, SUCCEEDED, FAILED)
"""Every state, in the order a task goes through them (the terminal ones last)."""
TERMINAL_STATES = (SUCCEEDED, FAILED)

# --- Error types --------------------------------------------------------------------

PARTNER_API_UNAVAILABLE = "PartnerApiUnavailable"
"""The partner API is unreachable, answered 5xx or 429: retried (honouring ``Retry-After``)."""
PARTNER_API_REFUSED = "PartnerApiRefused"
"""The partner answered 4xx, a redirect, or a body that is not its API's: not retried; the
page's task is FailedToComplete with the reason."""
URL_REFUSED = "PollerUrlRefused"
"""The URL is not one of the partner's registered base URLs, or resolves to an address the
worker must not reach: nothing is fetched."""
POLLER_JOB_FAILED = "PollerJobFailed"
"""The job could not be prepared (refused URL, unusable metadata) or was aborted."""


@dataclass(frozen=True)
class JobRequest:
    """One synchronisation: the input of ``PollerJobWorkflow``."""

    partner: str
    """The partner whose API is walked (its registered base URLs are the only ones fetched)."""
    url: str
    """The partner API's base URL (``<url>metadata``, ``<url>pages/<n>``)."""
    job_id: str = ""
    """The job's id; empty for a scheduled run, which takes it from its workflow id."""
    slice_pages: int = 500
    """Pages per slice workflow (each slice has its own, bounded history)."""
    max_in_flight: int = 5
    """Pages fetched at once (the article's dynamic parallelism)."""
    owner: str | None = None
    """The partner that started the job through the API; None for an operator or a schedule."""


@dataclass(frozen=True)
class JobPlan:
    """What preparing a job found: the output of ``poller_prepare_job``."""

    job_id: str
    pages: int
    """Tasks created, one per page."""
    total_records: int
    page_size: int


@dataclass(frozen=True)
class SliceRequest:
    """Pages ``first..last`` (inclusive) of a job: the input of ``PollerSliceWorkflow``."""

    job: JobRequest
    job_id: str
    first_page: int
    last_page: int


@dataclass(frozen=True)
class SliceResult:
    """How a slice's pages ended at the fetch side (the consumer finishes them)."""

    enqueued: int = 0
    failed: int = 0


@dataclass(frozen=True)
class PageTask:
    """One page to fetch: the input of ``poller_fetch_page`` and ``poller_fail_task``."""

    job_id: str
    partner: str
    url: str
    page: int
    reason: str = ""
    """Why the task failed (``poller_fail_task`` only)."""


@dataclass(frozen=True)
class PageFetched:
    """Where a page's payload waits: the claim check sent on the queue."""

    key: str
    """S3 key of the raw page."""
    records: int


@dataclass(frozen=True)
class JobRef:
    """A job, as the waiting and finishing steps name it."""

    job_id: str


@dataclass(frozen=True)
class JobSummary:
    """How a job ended: its result, also stored on its ``poller_jobs`` row."""

    job_id: str
    partner: str
    status: str
    """``COMPLETED`` or ``COMPLETED_WITH_FAILURES``."""
    counts: dict[str, int]
    """Tasks per state, with ``Total``."""
    duration_seconds: float
    failures: list[dict[str, str]] = field(default_factory=list)
    """Up to 100 failed pages: ``{"page", "task", "error"}``."""


@dataclass(frozen=True)
class JobFailure:
    """A job stopped before its pages: recorded on its row."""

    job_id: str
    partner: str
    url: str
    reason: str
    owner: str | None = None


@dataclass(frozen=True)
class RetentionRequest:
    """Purge tasks whose last change is older than ``days``: the input of ``PollerRetentionWorkflow``."""

    days: float


@dataclass(frozen=True)
class RetentionResult:
    """What a purge removed."""

    tasks: int
    objects: int
    """Payload objects deleted with their tasks (S3 counts an object already gone as deleted)."""


PREPARE_JOB = ActivityRef("poller_prepare_job", JobRequest, JobPlan)
FETCH_PAGE = ActivityRef("poller_fetch_page", PageTask, PageFetched)
FAIL_TASK = ActivityRef("poller_fail_task", PageTask, type(None))
AWAIT_TASKS = ActivityRef("poller_await_tasks", JobRef, type(None))
FINISH_JOB = ActivityRef("poller_finish_job", JobRef, JobSummary)
RECORD_JOB_FAILURE = ActivityRef("poller_record_job_failure", JobFailure, type(None))
PURGE_TASKS = ActivityRef("poller_purge_tasks", RetentionRequest, RetentionResult)
ACTIVITIES = (PREPARE_JOB, FETCH_PAGE, FAIL_TASK, AWAIT_TASKS, FINISH_JOB, RECORD_JOB_FAILURE, PURGE_TASKS)
"""Every activity of the pipeline (the worker's catalog registers exactly these)."""


def raw_key(partner: str, job_id: str, page: int) -> str:
    """The claim-check key of a page's raw payload (deterministic: a retry overwrites, never adds)."""
    return f"poller/raw/{partner}/{job_id}/page-{page:06d}.json"


def task_id(page: int) -> str:
    """A page's task id within its job."""
    return f"page-{page:06d}"


def job_workflow_id(job_id: str) -> str:
    """The workflow id of a job."""
    return WORKFLOW_PREFIX + job_id


def slice_workflow_id(job_id: str, index: int) -> str:
    """The workflow id of a job's slice ``index``."""
    return f"{WORKFLOW_PREFIX}{job_id}-slice-{index}"
