"""Name-matched stand-ins for the media activities, for workflow-logic tests on the time-skipping server.

``await_transcript`` behaves like the real poll: "not ready" (benign, retryable) until the
attempt numbered ``polls``, then the transcript, unless ``transcription_failure`` is set
(FAILED on that attempt) or ``polls`` is 0 (never ready).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.media.contracts import (
    ACTIVITIES,
    AWAIT_TRANSCRIPT,
    COPY_MEDIA,
    POST_PROCESS_MEDIA,
    RECORD_MEDIA_FAILURE,
    START_TRANSCRIPTION,
    TRANSLATE_TRANSCRIPT,
    AwaitTranscriptInput,
    CopiedMedia,
    CopyMediaInput,
    FailureRecorded,
    MediaJobResult,
    PostProcessInput,
    RecordFailureInput,
    StartTranscriptionInput,
    TranscriptionStarted,
    TranscriptRef,
    TranslateInput,
    TranslationRef,
    TranslationsDone,
    TranslationSummary,
)
from tests.support.mocks import covering, mock_activity


@dataclass
class MockMediaActivities:
    """Records every call; ``failures`` maps an activity name to the error it raises."""

    polls: int = 3
    transcription_failure: str | None = None
    failures: dict[str, Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    recorded_failures: list[RecordFailureInput] = field(default_factory=list)

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]

    def activities(self) -> list[Callable[..., Any]]:
        """The activity functions to register."""

        @mock_activity(COPY_MEDIA)
        async def copy_media(request: CopyMediaInput) -> CopiedMedia:
            self._enter("copy_media")
            return CopiedMedia(f"s3://stepwise-processing/media-jobs/{request.job_id}/media.wav", 8044)

        @mock_activity(START_TRANSCRIPTION)
        async def start_transcription(request: StartTranscriptionInput) -> TranscriptionStarted:
            self._enter("start_transcription")
            return TranscriptionStarted(request.job_name, already_started=False)

        @mock_activity(AWAIT_TRANSCRIPT)
        async def await_transcript(request: AwaitTranscriptInput) -> TranscriptRef:
            attempt = activity.info().attempt
            if attempt == 1:
                self._enter("await_transcript")
            if self.polls and attempt >= self.polls:
                if self.transcription_failure is not None:
                    raise ApplicationError(
                        f"Transcribe job {request.job_name} FAILED: {self.transcription_failure}",
                        {"failure_reason": self.transcription_failure},
                        type="TranscriptionFailed",
                        non_retryable=True,
                    )
                uri = f"s3://stepwise-processing/media-jobs/{request.job_id}/transcript.txt"
                return TranscriptRef(uri, 200, polls=attempt)
            raise ApplicationError("not ready", type="TranscriptionNotReady", category=ApplicationErrorCategory.BENIGN)

        @mock_activity(TRANSLATE_TRANSCRIPT)
        async def translate_transcript(request: TranslateInput) -> TranslationsDone:
            self._enter("translate_transcript")
            return TranslationsDone([TranslationRef(language, 1, 200) for language in request.target_languages])

        @mock_activity(POST_PROCESS_MEDIA)
        async def post_process_media(request: PostProcessInput) -> MediaJobResult:
            self._enter("post_process_media")
            prefix = f"s3://stepwise-processing/media-jobs/{request.request.job_id}"
            return MediaJobResult(
                job_id=request.request.job_id,
                transcript_uri=request.transcript.uri,
                manifest_uri=f"{prefix}/result.json",
                polls=request.transcript.polls,
                translations=[
                    TranslationSummary(t.language, f"{prefix}/{t.language}.txt", f"{prefix}/{t.language}.json", 1, 1)
                    for t in request.translations
                ],
                notification_id="mock-message",
            )

        @mock_activity(RECORD_MEDIA_FAILURE)
        async def record_media_failure(failure: RecordFailureInput) -> FailureRecorded:
            self._enter("record_media_failure")
            self.recorded_failures.append(failure)
            return FailureRecorded("mock-dead-letter")

        return covering(
            ACTIVITIES,
            [
                copy_media,
                start_transcription,
                await_transcript,
                translate_transcript,
                post_process_media,
                record_media_failure,
            ],
        )
