"""Contracts of the translation projects pipeline (DESIGN §5.6): projects, language pairs,
every activity's input and output, and the error types.

A project is a customer's set of XLIFF files (plus optional terminology and translation
memory) under ``translation-inbound/<customer>/<project>/``. Plain data only, so the
workflows can import it without any I/O library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef, AttentionPolicy

PIPELINE = "translation"

CUSTOMER_PATTERN = r"^[a-z0-9][a-z0-9_]{0,39}$"
"""A customer id: a partner id without ``-``, so ``<customer>-<project>`` splits one way only."""
PROJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""A project name, unique per customer."""

INBOUND_PREFIX = "translation-inbound/"
"""Where projects are dropped: ``translation-inbound/<customer>/<project>/<file>``."""
OUTBOUND_PREFIX = "translation-outbound/"
"""Where approved translations are delivered: ``translation-outbound/<customer>/<project>/<target>/<file>``."""
TERMINOLOGY_FOLDER = "terminology/"
"""Inside a project's folder: custom terminology files (CSV or TMX)."""
MEMORY_FOLDER = "memory/"
"""Inside a project's folder: translation memory files (TMX), imported as parallel data."""

# --- Error types ----------------------------------------------------------------------

INVALID_PROJECT = "InvalidTranslationProject"
"""A request naming an impossible project (bad ids, no files): the project fails at once."""
NOTHING_TO_TRANSLATE = "NothingToTranslate"
"""Every file of the project was refused into quarantine."""
NO_TRANSLATE_SLOT = "NoTranslateSlot"
"""Every slot of Translate's concurrent-job quota is taken (benign: the acquire step polls)."""
JOB_NOT_DONE = "TranslationJobNotDone"
"""The batch job is still SUBMITTED or IN_PROGRESS (benign: the wait step polls)."""
JOB_FAILED = "TranslationJobFailed"
"""Translate ended the job FAILED or COMPLETED_WITH_ERROR; the message carries Translate's reason."""
SEGMENTS_MISSING = "TranslationSegmentsMissing"
"""Segments still untranslated after the resubmission: the verify step parks for an operator."""
GLOSSARY_REFUSED = "TranslationGlossaryRefused"
"""Translate refused the terminology or parallel data."""
PARALLEL_DATA_NOT_READY = "ParallelDataNotReady"
"""Parallel data still CREATING or UPDATING (benign: the wait step polls)."""
PROJECT_FAILED = "TranslationProjectFailed"
"""The project stopped at a step (its failure or an operator's abort)."""


def project_id(customer: str, project: str) -> str:
    """The project's id, ``<customer>-<project>`` (also the tail of its workflow id)."""
    return f"{customer}-{project}"


def split_project_id(value: str) -> tuple[str, str] | None:
    """``(customer, project)`` of a project id, or None when it is not one."""
    customer, dash, project = value.partition("-")
    if not dash or not valid_customer(customer) or not valid_project(project):
        return None
    return customer, project


def valid_customer(value: str) -> bool:
    """True for a well-formed customer id."""
    return re.fullmatch(CUSTOMER_PATTERN, value) is not None


def valid_project(value: str) -> bool:
    """True for a well-formed project name."""
    return re.fullmatch(PROJECT_PATTERN, value) is not None


def project_workflow_id(customer: str, project: str) -> str:
    """``translation-<customer>-<project>``: the same project submitted twice is one project."""
    return f"translation-{project_id(customer, project)}"


def pair_name(source: str, target: str) -> str:
    """A language pair as it appears in keys and step names: ``en-es``."""
    return f"{source}-{target}"


# --- The project (TranslationProjectWorkflow) -------------------------------------------


@dataclass(frozen=True)
class Pricing:
    """Amazon Translate's prices in US dollars per million characters, as decimal strings."""

    standard: str = "15"
    """Standard batch translation."""
    custom: str = "60"
    """Active Custom Translation (a job with parallel data)."""


@dataclass(frozen=True)
class ProjectRequest:
    """The input of ``TranslationProjectWorkflow``: where the project's files are and how to run it."""

    customer: str
    project: str
    bucket: str
    """The bucket holding ``translation-inbound/`` (and jobs, quarantine, outbound)."""
    staging_bucket: str
    """Where post-processed translations wait for review."""
    role_arn: str
    """The IAM role Translate assumes to read the input and write the output."""
    settle_seconds: float = 10.0
    """Files keep arriving until none has for this long; then the project is read."""
    max_pairs_in_flight: int = 10
    """Translate's concurrent batch-job quota, shared by every project of the fleet."""
    poll_seconds: float = 30.0
    """Seconds between DescribeTextTranslationJob calls (and between tries for a free slot)."""
    max_job_seconds: float = 24 * 3600.0
    """Longest a batch job may take before the pair's wait parks."""
    pricing: Pricing = field(default_factory=Pricing)
    """Prices at submission, so a project's cost does not change with later settings."""
    archive_after_days: int = 30
    """Delivered projects move to ``archive_storage_class`` after this many days."""
    archive_storage_class: str = "GLACIER_IR"
    """The cheaper storage class of the customer's lifecycle rule."""
    review_attention: AttentionPolicy | None = None
    """Remind -> escalate of the translator review gate."""
    max_files: int = 500
    """Most files a project may have (more: the project is refused)."""
    max_review_rounds: int = 20
    """Sent back more often than this, the project stops for an operator."""
    owner: str | None = None
    """The partner (customer) that submitted it; None when an operator did."""


@dataclass(frozen=True)
class FileArrived:
    """Signal: a file was written under the project's inbound folder (delays the read)."""

    key: str


@dataclass(frozen=True)
class PairPlan:
    """One language pair as preprocessing found it."""

    source_language: str
    target_language: str
    files: list[str]
    """Keys of the pair's XLIFF files, relative to the project folder."""
    segments: int
    characters: int
    """Characters of the source segments: what Translate bills."""
    terminology: list[str] = field(default_factory=list)
    """Terminology files (relative keys) that cover both languages of the pair."""
    memory: list[str] = field(default_factory=list)
    """Translation memory files (relative keys) that cover the pair."""


@dataclass(frozen=True)
class QuarantinedFile:
    """A file refused by preprocessing, copied to the quarantine prefix."""

    name: str
    reason: str


@dataclass(frozen=True)
class PreprocessInput:
    """Read every file of the project."""

    request: ProjectRequest


@dataclass(frozen=True)
class Preprocessed:
    """What the project holds: pairs to translate and files refused."""

    pairs: list[PairPlan]
    quarantined: list[QuarantinedFile]
    files: int
    """Files read, of every kind."""


@dataclass(frozen=True)
class PairRequest:
    """The input of ``TranslationPairWorkflow``."""

    request: ProjectRequest
    plan: PairPlan


@dataclass(frozen=True)
class PairResult:
    """A translated pair, staged for review."""

    source_language: str
    target_language: str
    segments: int
    flagged: int
    """Segments flagged as machine translated (XLIFF state attributes)."""
    characters: int
    cost: str
    """US dollars, to the cent, as a decimal string (``billed_characters`` at the pair's price)."""
    jobs: list[str]
    """Translate job ids (two when a file was resubmitted)."""
    missing: int = 0
    """Segments still untranslated (an operator skipped the verify step)."""
    billed_characters: int = 0
    """Characters Translate billed: the pair's, plus the resubmitted files' again."""


@dataclass(frozen=True)
class ProjectResult:
    """The project's outcome."""

    project_id: str
    status: str
    """DELIVERED (a project whose every file was refused fails with ``NothingToTranslate``)."""
    pairs: list[PairResult]
    quarantined: int
    cost: str
    """US dollars, to the cent."""
    reviewed_by: str = ""


@dataclass(frozen=True)
class ProjectProgress:
    """The status query's answer."""

    status: str
    """COLLECTING, TRANSLATING, IN_REVIEW, CHANGES_REQUESTED, DELIVERED, REFUSED, FAILED."""
    files_arrived: int
    pairs: list[str]
    review_round: int
    reason: str | None = None
    late_files: list[str] = field(default_factory=list)
    """Files that arrived after the project was read (not part of it; the first 100)."""


# --- Pair activities -------------------------------------------------------------------


@dataclass(frozen=True)
class SlotRequest:
    """Take (or give back) one of Translate's concurrent-job slots for a pair."""

    holder: str
    """The pair's workflow id: taking a slot twice holds one."""
    project_id: str
    limit: int


@dataclass(frozen=True)
class SlotHeld:
    """A slot taken: how many were in use with it."""

    in_use: int


@dataclass(frozen=True)
class PrepareJobInput:
    """Copy the files of one job to its input prefix."""

    request: ProjectRequest
    plan: PairPlan
    round: int
    """0 for the first job; 1 for the resubmission of files with missing segments."""
    files: list[str]
    """The files of this job (all of the pair's, or those to resubmit)."""


@dataclass(frozen=True)
class JobPrefixes:
    """Where a job reads and writes."""

    input_uri: str
    output_uri: str


@dataclass(frozen=True)
class GlossaryInput:
    """Import a pair's terminology or translation memory into Translate."""

    request: ProjectRequest
    plan: PairPlan


@dataclass(frozen=True)
class GlossaryImported:
    """Translate's resource name (``TerminologyNames`` / ``ParallelDataNames``)."""

    name: str


@dataclass(frozen=True)
class StartJobInput:
    """Start one batch job."""

    request: ProjectRequest
    plan: PairPlan
    prefixes: JobPrefixes
    job_name: str
    """The job's business key: the pair's workflow id and round (a job of this name that did not
    fail is this job)."""
    terminology: str | None = None
    parallel_data: str | None = None


@dataclass(frozen=True)
class JobStarted:
    job_id: str


@dataclass(frozen=True)
class AwaitJobInput:
    """Poll one batch job until it ends."""

    project_id: str
    pair: str
    job_id: str


@dataclass(frozen=True)
class JobDone:
    """A job that ended COMPLETED (or COMPLETED_WITH_ERROR): where its output is."""

    job_id: str
    output_uri: str
    """``s3://`` prefix holding ``<target>.<file>`` objects."""
    document_errors: list[str] = field(default_factory=list)
    """COMPLETED_WITH_ERROR: Translate's reason for each document it could not translate."""


@dataclass(frozen=True)
class PostProcessInput:
    """Verify, flag and stage the output of one job."""

    request: ProjectRequest
    plan: PairPlan
    job: JobDone
    files: list[str]
    """The files this job translated."""
    round: int = 0
    """The job's round: its input copy (``r<round>/input/``) is the source checked against."""
    stage_incomplete: bool = False
    """Stage a file even with segments missing (the resubmission's output: what came back is
    staged, flagged, so the verify step can name the missing units and translators can fill them)."""


@dataclass(frozen=True)
class PostProcessed:
    """What the job's output held."""

    segments: int
    flagged: int
    incomplete_files: list[str]
    """Files with segments missing from the output (staged only with ``stage_incomplete``)."""
    missing_segments: int
    incomplete_characters: int = 0
    """Source characters of the incomplete files: what Translate bills again when they are resubmitted."""


@dataclass(frozen=True)
class VerifyInput:
    """Check that every file of the pair is staged with every segment translated."""

    request: ProjectRequest
    plan: PairPlan
    document_errors: list[str] = field(default_factory=list)
    """What Translate said of the documents it could not translate (named in the failure)."""


@dataclass(frozen=True)
class PairRecord:
    """Record a pair's state (and, once translated, its counts and cost) in Postgres."""

    request: ProjectRequest
    plan: PairPlan
    state: str
    """WAITING_FOR_SLOT, TRANSLATING, STAGED, FAILED."""
    jobs: list[str] = field(default_factory=list)
    segments: int = 0
    flagged: int = 0
    missing: int = 0
    billed_characters: int = 0
    """Characters of every job's input (a resubmission is billed again); 0 before any job ended."""
    custom: bool = False
    """True when the job used parallel data (priced as Active Custom Translation)."""
    reason: str | None = None


@dataclass(frozen=True)
class PairRecorded:
    cost: str
    """The pair's cost in US dollars, to the cent."""


@dataclass(frozen=True)
class PairNotice:
    """Tell the project's topic a pair is staged for review."""

    request: ProjectRequest
    result: PairResult


# --- Project activities ----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectStatusInput:
    """Set the project row's status (and the review's operator and comment)."""

    request: ProjectRequest
    status: str
    operator: str = ""
    comment: str = ""
    reason: str | None = None


@dataclass(frozen=True)
class ProjectTotals:
    """The project's cost from its pairs' rows."""

    characters: int
    cost: str


@dataclass(frozen=True)
class DeliverInput:
    """Copy staged translations to the outbound prefix and archive by lifecycle rule."""

    request: ProjectRequest
    pairs: list[PairPlan]
    reviewed_by: str


@dataclass(frozen=True)
class Delivered:
    files: int
    outbound_prefix: str


PREPROCESS = ActivityRef("translation_preprocess", PreprocessInput, Preprocessed)
ACQUIRE_SLOT = ActivityRef("translation_acquire_slot", SlotRequest, SlotHeld)
RELEASE_SLOT = ActivityRef("translation_release_slot", SlotRequest, type(None))
PREPARE_JOB = ActivityRef("translation_prepare_job", PrepareJobInput, JobPrefixes)
IMPORT_TERMINOLOGY = ActivityRef("translation_import_terminology", GlossaryInput, GlossaryImported)
CREATE_PARALLEL_DATA = ActivityRef("translation_create_parallel_data", GlossaryInput, GlossaryImported)
AWAIT_PARALLEL_DATA = ActivityRef("translation_await_parallel_data", GlossaryImported, GlossaryImported)
START_JOB = ActivityRef("translation_start_job", StartJobInput, JobStarted)
AWAIT_JOB = ActivityRef("translation_await_job", AwaitJobInput, JobDone)
POST_PROCESS = ActivityRef("translation_post_process", PostProcessInput, PostProcessed)
VERIFY_PAIR = ActivityRef("translation_verify_pair", VerifyInput, PostProcessed)
RECORD_PAIR = ActivityRef("translation_record_pair", PairRecord, PairRecorded)
NOTIFY_PAIR = ActivityRef("translation_notify_pair", PairNotice, type(None))
SET_PROJECT_STATUS = ActivityRef("translation_set_project_status", ProjectStatusInput, ProjectTotals)
DELIVER = ActivityRef("translation_deliver", DeliverInput, Delivered)

ACTIVITIES = (
    PREPROCESS,
    ACQUIRE_SLOT,
    RELEASE_SLOT,
    PREPARE_JOB,
    IMPORT_TERMINOLOGY,
    CREATE_PARALLEL_DATA,
    AWAIT_PARALLEL_DATA,
    START_JOB,
    AWAIT_JOB,
    POST_PROCESS,
    VERIFY_PAIR,
    RECORD_PAIR,
    NOTIFY_PAIR,
    SET_PROJECT_STATUS,
    DELIVER,
)
"""Every activity of the pipeline (the worker's catalog registers exactly these)."""
