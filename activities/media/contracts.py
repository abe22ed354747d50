"""Contracts of the media pipeline (DESIGN §5.3): one frozen dataclass in and out per step.

Shared by the workflow (through ``imports_passed_through``), the activities, the API and
the CLI. Also the job's deterministic S3 layout in the processing bucket, so every
retry of every step writes to the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef

PIPELINE = "media"
"""Value of the ``StepwisePipeline`` search attribute."""

JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
"""A job id: safe in a workflow id, a Transcribe job name and an S3 key."""

DEFAULT_POLL_INTERVAL_SECONDS = 20.0
"""The article's Wait state: 20 seconds between GetTranscriptionJob calls."""

DEFAULT_MAX_WAIT_SECONDS = 6 * 3600.0
"""How long a transcription may take before the job fails as timed out."""

# Error types raised by the media activities (the workflow's policies name them).
NOT_READY = "TranscriptionNotReady"
TRANSCRIPTION_FAILED = "TranscriptionFailed"
TRANSCRIPTION_TIMED_OUT = "TranscriptionTimedOut"
TRANSCRIPT_MALFORMED = "TranscriptMalformed"
JOB_CONFLICT = "TranscriptionJobConflict"
MEDIA_NOT_FOUND = "MediaNotFound"
MEDIA_TOO_LARGE = "MediaTooLarge"
UNSUPPORTED_LANGUAGE_PAIR = "UnsupportedLanguagePair"
TRANSLATION_INCOMPLETE = "TranslationIncomplete"
INVALID_REQUEST = "InvalidMediaRequest"


@dataclass(frozen=True)
class MediaJobRequest:
    """The workflow's input: which media to transcribe and into which languages to translate it."""

    job_id: str
    """Business id of the job; the workflow id is ``media-<job_id>``."""
    media_uri: str
    """``s3://bucket/key`` of the source audio or video."""
    language_code: str
    """Transcribe language code of the speech, e.g. ``en-US``."""
    target_languages: list[str] = field(default_factory=list)
    """Translate language codes to translate the transcript into, e.g. ``["es", "fr"]``."""
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS
    """Seconds between checks of the transcription job."""
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS
    """Longest the transcription may take before the job fails."""
    owner: str | None = None
    """The partner who submitted the job; None when an operator did (and in older histories)."""


@dataclass(frozen=True)
class CopyMediaInput:
    """Copy the source media into the processing bucket."""

    job_id: str
    media_uri: str
    """Source ``s3://`` URI."""


@dataclass(frozen=True)
class CopiedMedia:
    """Where the media now is."""

    processing_uri: str
    """``s3://`` URI of the copy Transcribe reads."""
    size_bytes: int


@dataclass(frozen=True)
class StartTranscriptionInput:
    """Start the Transcribe job for the copied media."""

    job_id: str
    job_name: str
    """Transcribe job name: the workflow id, so a retry finds the job it started."""
    media_uri: str
    """``s3://`` URI of the copied media."""
    language_code: str


@dataclass(frozen=True)
class TranscriptionStarted:
    """The job that is running."""

    job_name: str
    already_started: bool
    """True when an earlier attempt had started it (this call changed nothing)."""


@dataclass(frozen=True)
class AwaitTranscriptInput:
    """Check the Transcribe job; when it is done, read its transcript."""

    job_id: str
    job_name: str


@dataclass(frozen=True)
class TranscriptRef:
    """The extracted transcript text, stored in S3 (large text travels by reference)."""

    uri: str
    """``s3://`` URI of the plain-text transcript."""
    size_bytes: int
    """UTF-8 size of the text."""
    polls: int
    """GetTranscriptionJob calls it took (the successful attempt's number)."""


@dataclass(frozen=True)
class TranslateInput:
    """Translate the transcript into every target language."""

    job_id: str
    transcript_uri: str
    language_code: str
    """Transcribe language code of the source speech."""
    target_languages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TranslationRef:
    """One language's translated chunks, checkpointed in S3."""

    language: str
    segments: int
    """Chunks (TranslateText requests' worth of whole sentences) the text was split into."""
    source_bytes: int
    """UTF-8 bytes of source text sent to Translate for this language."""


@dataclass(frozen=True)
class TranslationsDone:
    """Every target language translated."""

    translations: list[TranslationRef] = field(default_factory=list)


@dataclass(frozen=True)
class PostProcessInput:
    """Verify, flag, store and announce the finished job."""

    request: MediaJobRequest
    job_name: str
    processing_uri: str
    transcript: TranscriptRef
    translations: list[TranslationRef] = field(default_factory=list)


@dataclass(frozen=True)
class TranslationSummary:
    """One stored translation."""

    language: str
    text_uri: str
    segments_uri: str
    segments: int
    machine_translated_segments: int
    """Segments whose output differs from their input (flagged for review)."""


@dataclass(frozen=True)
class MediaJobResult:
    """The workflow's result: where the transcript and translations are."""

    job_id: str
    transcript_uri: str
    manifest_uri: str
    polls: int
    translations: list[TranslationSummary] = field(default_factory=list)
    notification_id: str = ""
    """SNS message id of the completion notice."""


@dataclass(frozen=True)
class RecordFailureInput:
    """A job that failed: record it in Postgres and send its story to the dead-letter queue."""

    request: MediaJobRequest
    failed_step: str
    error_type: str
    reason: str


@dataclass(frozen=True)
class FailureRecorded:
    """The dead-letter message of the failure."""

    dead_letter_id: str


@dataclass(frozen=True)
class MediaProgress:
    """What the job is doing now (the ``progress`` query)."""

    status: str
    """RUNNING, COMPLETED or FAILED."""
    current_step: str | None
    """The step running now, if any."""
    completed_steps: list[str] = field(default_factory=list)
    """Steps that finished, in order."""
    failed_step: str | None = None
    """The step that failed the job."""
    failure_reason: str | None = None
    """Why, in one line."""


# --- Activities: registered name, input, output ----------------------------------------

COPY_MEDIA = ActivityRef("copy_media", CopyMediaInput, CopiedMedia)
"""The article's GetSampleVideo: S3 CopyObject into the processing bucket."""
START_TRANSCRIPTION = ActivityRef("start_transcription", StartTranscriptionInput, TranscriptionStarted)
"""StartTranscriptionJob, named after the workflow id."""
AWAIT_TRANSCRIPT = ActivityRef("await_transcript", AwaitTranscriptInput, TranscriptRef)
"""One poll of GetTranscriptionJob (its retry policy is the polling loop), then the transcript's text."""
TRANSLATE_TRANSCRIPT = ActivityRef("translate_transcript", TranslateInput, TranslationsDone)
"""TranslateText for every segment and language, checkpointed."""
POST_PROCESS_MEDIA = ActivityRef("post_process_media", PostProcessInput, MediaJobResult)
"""Verify, flag, store in S3 and Postgres, notify."""
RECORD_MEDIA_FAILURE = ActivityRef("record_media_failure", RecordFailureInput, FailureRecorded)
"""A failed job to Postgres and the media dead-letter queue."""

ACTIVITIES = (
    COPY_MEDIA,
    START_TRANSCRIPTION,
    AWAIT_TRANSCRIPT,
    TRANSLATE_TRANSCRIPT,
    POST_PROCESS_MEDIA,
    RECORD_MEDIA_FAILURE,
)
"""Every activity of the pipeline (the worker's catalog registers exactly these)."""
