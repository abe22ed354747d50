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
under step control (``workflows.common.step_control``): a business outcome (Transcribe FAILED, an
unsupported language pair, a missing source file: non-retryable errors) fails the job at
once, while a step whose retries run out (throttling, 5xx, timeouts) parks for an
operator's retry / skip / abort. A failed or aborted job is recorded in Postgres and its
story sent to the media dead-letter queue before the workflow fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.media.policies as policies
    from activities.common.s3_uri import InvalidS3Uri, parse_s3_uri
    from activities.media.contracts import (
        AWAIT_TRANSCRIPT,
        COPY_MEDIA,
        INVALID_REQUEST,
        JOB_ID_PATTERN,
        PIPELINE,
        POST_PROCESS_MEDIA,
        RECORD_MEDIA_FAILURE,
        START_TRANSCRIPTION,
        TRANSCRIPTION_FAILED,
        TRANSCRIPTION_TIMED_OUT,
        TRANSLATE_TRANSCRIPT,
        AwaitTranscriptInput,
        CopiedMedia,
        CopyMediaInput,
        MediaJobRequest,
        MediaJobResult,
        MediaProgress,
        PostProcessInput,
        RecordFailureInput,
        StartTranscriptionInput,
        TranscriptionStarted,
        TranscriptRef,
        TranslateInput,
        TranslationsDone,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure, retry_timed_out
    from workflows.common.step_control import StepControl, StepControlHandlers


WAIT_STEP = "wait_for_transcript"

STEP_CONTROL = "media-step-control"
"""Patch: a step whose retries run out parks instead of failing the job (before it, every failure failed it)."""


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
        self._request = request
        self._status = "RUNNING"
        self._failure: JobFailure | None = None
        self._failed_step: str | None = None

    @workflow.run
    async def run(self, request: MediaJobRequest) -> MediaJobResult:
        # Jobs started before step control replay the steps their history recorded.
        self.steps.parks = workflow.patched(STEP_CONTROL)
        async with at_exit(self.steps.settle):
            return await self._run(request)

    async def _run(self, request: MediaJobRequest) -> MediaJobResult:
        problem = invalid_request(request)
        if problem is not None:
            raise await self._fail("validate", JobFailure(INVALID_REQUEST, problem, "rejected"))
        try:
            media = await self._copy_media()
            started = await self._start_transcription(media)
            transcript = await self._wait_for_transcript(started)
            translations = await self._translate(transcript)
            result = await self._post_process(started, media, transcript, translations)
        except STEP_ERRORS as error:  # an abort is an ApplicationError too
            step = self.steps.stopped_at() or "unknown"
            raise await self._fail(step, self._describe(step, error)) from None
        self._status = "COMPLETED"
        _jobs_total("completed")
        return result

    @workflow.query
    def progress(self) -> MediaProgress:
        """The current step, the steps done and, once failed, why."""
        return MediaProgress(
            status=self._status,
            current_step=self.steps.current_step,
            completed_steps=list(self.steps.completed_steps),
            failed_step=self._failed_step,
            failure_reason=self._failure.reason if self._failure else None,
        )

    async def _copy_media(self) -> CopiedMedia:
        request = CopyMediaInput(self._request.job_id, self._request.media_uri)
        return await self.steps.run("copy_media", COPY_MEDIA, request, policy=policies.COPY_MEDIA)

    async def _start_transcription(self, media: CopiedMedia) -> TranscriptionStarted:
        request = StartTranscriptionInput(
            job_id=self._request.job_id,
            job_name=workflow.info().workflow_id,
            media_uri=media.processing_uri,
            language_code=self._request.language_code,
        )
        return await self.steps.run(
            "start_transcription", START_TRANSCRIPTION, request, policy=policies.START_TRANSCRIPTION
        )

    async def _wait_for_transcript(self, started: TranscriptionStarted) -> TranscriptRef:
        policy = policies.transcription_poll(
            timedelta(seconds=self._request.poll_interval_seconds), timedelta(seconds=self._request.max_wait_seconds)
        )
        began = workflow.now()
        request = AwaitTranscriptInput(self._request.job_id, started.job_name)
        transcript = await self.steps.run(WAIT_STEP, AWAIT_TRANSCRIPT, request, policy=policy)
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
        return await self.steps.run("translate", TRANSLATE_TRANSCRIPT, request, policy=policies.TRANSLATE_TRANSCRIPT)

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
        return await self.steps.run("post_process", POST_PROCESS_MEDIA, request, policy=policies.POST_PROCESS_MEDIA)

    def _describe(self, step: str, error: BaseException) -> JobFailure:
        """The job's failure: the step's, except that a poll running out of time is Transcribe's timeout."""
        failure = describe_failure(error)
        if step == WAIT_STEP and (failure.timed_out or retry_timed_out(error)):
            wait = timedelta(seconds=self._request.max_wait_seconds)
            return JobFailure(
                TRANSCRIPTION_TIMED_OUT,
                f"Transcribe job {workflow.info().workflow_id} did not complete within the maximum wait of {wait}",
                "timed_out",
            )
        if failure.aborted:
            return JobFailure(failure.error_type, failure.message, "aborted")
        if failure.timed_out:
            return JobFailure(failure.error_type, f"{step}: {failure.message}", "failed")
        outcome = "transcription_failed" if failure.error_type == TRANSCRIPTION_FAILED else "failed"
        return JobFailure(failure.error_type, failure.message, outcome)

    async def _fail(self, step: str, failure: JobFailure) -> ApplicationError:
        """Record the failure (Postgres + dead-letter queue) and return the error that fails the job."""
        self._status, self._failure, self._failed_step = "FAILED", failure, step
        record = RecordFailureInput(self._request, step, failure.error_type, failure.reason)
        try:
            # The last record of a failure: it parks rather than being lost (in jobs under step control).
            await self.steps.run(
                "record_failure", RECORD_MEDIA_FAILURE, record, policy=policies.RECORD_MEDIA_FAILURE, progress=False
            )
        except STEP_ERRORS as error:  # an operator may abort the recording itself
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
