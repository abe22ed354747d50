"""MediaWorkflow: transcribe a media file and translate its transcript (DESIGN §5.3).

    copy_media           the article's GetSampleVideo: S3 CopyObject into the processing bucket
    start_transcription  StartTranscriptionJob, named after the workflow id
    wait_for_transcript  Wait / GetTranscriptionJob / Choice, then GetTranscriptionText
    translate            TranslateText into every target language, in parallel
    post_process         verify every segment, flag machine translations, store, notify

The article's polling loop is one activity whose retry policy is the loop (backoff 1.0,
interval = the poll interval, bounded by the maximum wait), so the history has the same
length whether Transcribe takes a minute or a day; unlike the article's loop, a FAILED
job ends the pipeline at once with Transcribe's reason. Reading the transcript is the
poll's last act and all languages share one translate activity (checkpointed per
segment), so a job is five activities and 35 history events however long it waits and
however many languages it asks for. Each step is one short method running one activity
under step control (``workflows.step_control``): a business outcome (Transcribe FAILED, an
unsupported language pair, a missing source file: non-retryable errors) fails the job at
once, while a step whose retries run out (throttling, 5xx, timeouts) parks for an
operator's retry / skip / abort. A failed or aborted job is recorded in Postgres and its
story sent to the media dead-letter queue before the workflow fails.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState, TimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.media import MediaActivities
    from activities.media_types import (
        INVALID_REQUEST,
        JOB_ID_PATTERN,
        PIPELINE,
        TRANSCRIPTION_FAILED,
        TRANSCRIPTION_TIMED_OUT,
        AwaitTranscriptInput,
        CopiedMedia,
        CopyMediaInput,
        MediaJobRequest,
        MediaJobResult,
        PostProcessInput,
        RecordFailureInput,
        StartTranscriptionInput,
        TranscriptionStarted,
        TranscriptRef,
        TranslateInput,
        TranslationsDone,
    )
    from activities.s3_uri import InvalidS3Uri, parse_s3_uri
    from workflows.policies import (
        COPY_MEDIA,
        POST_PROCESS_MEDIA,
        RECORD_MEDIA_FAILURE,
        START_TRANSCRIPTION,
        TRANSLATE_TRANSCRIPT,
        StepPolicy,
        transcription_poll,
    )
    from workflows.step_control import ABORTED, StepControl, StepControlHandlers


ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

WAIT_STEP = "wait_for_transcript"

STEP_CONTROL = "media-step-control"
"""Patch: steps run under step control (a step whose retries run out parks instead of failing the job)."""


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


@dataclass(frozen=True)
class JobFailure:
    """How a step's failure is reported: error type, one-line reason, metric outcome."""

    error_type: str
    reason: str
    outcome: str


@workflow.defn
class MediaWorkflow(StepControlHandlers):
    """One media job, from the source file to stored, flagged translations."""

    @workflow.init
    def __init__(self, request: MediaJobRequest) -> None:
        self.steps = StepControl(PIPELINE)
        self._controlled = False
        self._request = request
        self._status = "RUNNING"
        self._current: str | None = None
        self._completed: list[str] = []
        self._failure: JobFailure | None = None
        self._failed_step: str | None = None

    @workflow.run
    async def run(self, request: MediaJobRequest) -> MediaJobResult:
        # Jobs started before step control replay the steps their history recorded.
        self._controlled = workflow.patched(STEP_CONTROL)
        try:
            return await self._run(request)
        finally:
            await self.steps.settle()

    async def _run(self, request: MediaJobRequest) -> MediaJobResult:
        problem = invalid_request(request)
        if problem is not None:
            self._current = "validate"
            raise await self._fail(JobFailure(INVALID_REQUEST, problem, "rejected"))
        try:
            media = await self._copy_media()
            started = await self._start_transcription(media)
            transcript = await self._wait_for_transcript(started)
            translations = await self._translate(transcript)
            result = await self._post_process(started, media, transcript, translations)
        except (ActivityError, ApplicationError) as error:  # an abort is an ApplicationError
            raise await self._fail(self._describe(error)) from None
        self._status = "COMPLETED"
        _jobs_total("completed")
        return result

    @workflow.query
    def progress(self) -> MediaProgress:
        """The current step, the steps done and, once failed, why."""
        return MediaProgress(
            status=self._status,
            current_step=self._current,
            completed_steps=list(self._completed),
            failed_step=self._failed_step,
            failure_reason=self._failure.reason if self._failure else None,
        )

    async def _copy_media(self) -> CopiedMedia:
        request = CopyMediaInput(self._request.job_id, self._request.media_uri)
        return await self._step("copy_media", MediaActivities.copy_media, request, COPY_MEDIA, CopiedMedia)

    async def _start_transcription(self, media: CopiedMedia) -> TranscriptionStarted:
        request = StartTranscriptionInput(
            job_id=self._request.job_id,
            job_name=workflow.info().workflow_id,
            media_uri=media.processing_uri,
            language_code=self._request.language_code,
        )
        return await self._step(
            "start_transcription",
            MediaActivities.start_transcription,
            request,
            START_TRANSCRIPTION,
            TranscriptionStarted,
        )

    async def _wait_for_transcript(self, started: TranscriptionStarted) -> TranscriptRef:
        policy = transcription_poll(
            timedelta(seconds=self._request.poll_interval_seconds), timedelta(seconds=self._request.max_wait_seconds)
        )
        began = workflow.now()
        transcript = await self._step(
            WAIT_STEP,
            MediaActivities.await_transcript,
            AwaitTranscriptInput(self._request.job_id, started.job_name),
            policy,
            TranscriptRef,
        )
        workflow.metric_meter().create_histogram_float(
            "stepwise_transcription_wait_seconds", "Time from the first poll to a completed transcription", "s"
        ).record((workflow.now() - began).total_seconds())
        return transcript

    async def _translate(self, transcript: TranscriptRef) -> TranslationsDone:
        request = TranslateInput(
            job_id=self._request.job_id,
            transcript_uri=transcript.uri,
            language_code=self._request.language_code,
            target_languages=list(self._request.target_languages),
        )
        return await self._step(
            "translate", MediaActivities.translate_transcript, request, TRANSLATE_TRANSCRIPT, TranslationsDone
        )

    async def _post_process(
        self, started: TranscriptionStarted, media: CopiedMedia, transcript: TranscriptRef, done: TranslationsDone
    ) -> MediaJobResult:
        request = PostProcessInput(
            request=self._request,
            job_name=started.job_name,
            processing_uri=media.processing_uri,
            transcript=transcript,
            translations=list(done.translations),
        )
        return await self._step(
            "post_process", MediaActivities.post_process_media, request, POST_PROCESS_MEDIA, MediaJobResult
        )

    async def _step(
        self,
        name: str,
        activity: Callable[[MediaActivities, ArgT], Awaitable[ResultT]],
        argument: ArgT,
        policy: StepPolicy,
        output: type[ResultT],
    ) -> ResultT:
        """Run one step's activity under its policy, tracking progress for the query.

        A skipped step must be given a substitute ``output``: the next steps need it.
        """
        self._current = name
        if not self._controlled:
            result: ResultT = await workflow.execute_activity_method(activity, argument, **policy.activity_options())
        else:
            result = await self.steps.run(name, activity, argument, policy=policy, output=output)
        self._completed.append(name)
        self._current = None
        return result

    def _describe(self, error: FailureError) -> JobFailure:
        """Turn a step's failure (or an operator's abort) into one typed, readable line."""
        if isinstance(error, ApplicationError):
            outcome = "aborted" if error.type == ABORTED else "failed"
            return JobFailure(error.type or "ApplicationError", error.message, outcome)
        cause = error.cause
        retry_state = error.retry_state if isinstance(error, ActivityError) else None
        if self._current == WAIT_STEP and (isinstance(cause, TimeoutError) or retry_state == RetryState.TIMEOUT):
            wait = timedelta(seconds=self._request.max_wait_seconds)
            return JobFailure(
                TRANSCRIPTION_TIMED_OUT,
                f"Transcribe job {workflow.info().workflow_id} did not complete within the maximum wait of {wait}",
                "timed_out",
            )
        if isinstance(cause, ApplicationError):
            outcome = "transcription_failed" if cause.type == TRANSCRIPTION_FAILED else "failed"
            return JobFailure(cause.type or "ApplicationError", cause.message, outcome)
        if isinstance(cause, TimeoutError):
            return JobFailure("StepTimedOut", f"{self._current}: {cause.message}", "failed")
        return JobFailure(type(cause).__name__ if cause else "ActivityError", str(cause or error), "failed")

    async def _fail(self, failure: JobFailure) -> ApplicationError:
        """Record the failure (Postgres + dead-letter queue) and return the error that fails the job."""
        step = self._current or "unknown"
        self._status, self._failure, self._failed_step, self._current = "FAILED", failure, step, None
        record = RecordFailureInput(self._request, step, failure.error_type, failure.reason)
        try:
            if self._controlled:  # the last record of a failure: parks rather than being lost
                await self.steps.run(
                    "record_failure", MediaActivities.record_media_failure, record, policy=RECORD_MEDIA_FAILURE
                )
            else:
                await workflow.execute_activity_method(
                    MediaActivities.record_media_failure, record, **RECORD_MEDIA_FAILURE.activity_options()
                )
        except (ActivityError, ApplicationError) as error:  # an operator may abort the recording itself
            workflow.logger.error("could not record the failure of %s: %s", workflow.info().workflow_id, error)
        _jobs_total(failure.outcome)
        return ApplicationError(f"{step}: {failure.reason}", type=failure.error_type, non_retryable=True)


def _jobs_total(outcome: str) -> None:
    workflow.metric_meter().create_counter("stepwise_media_jobs_total", "Media jobs by outcome").add(
        1, {"outcome": outcome}
    )


def invalid_request(request: MediaJobRequest) -> str | None:
    """Why the request cannot run, or None (the edge checks more; this guards direct starts)."""
    if not re.fullmatch(JOB_ID_PATTERN, request.job_id):
        return f"job_id {request.job_id!r} must match {JOB_ID_PATTERN}"
    try:
        parse_s3_uri(request.media_uri)
    except InvalidS3Uri as error:
        return f"media_uri: {error}"
    if not request.language_code:
        return "language_code is empty"
    if not request.target_languages:
        return "target_languages is empty"
    if len(set(request.target_languages)) != len(request.target_languages):
        return "target_languages has duplicates"
    if request.poll_interval_seconds <= 0:
        return "poll_interval_seconds must be positive"
    if request.max_wait_seconds < request.poll_interval_seconds:
        return "max_wait_seconds must be at least poll_interval_seconds"
    return None
