"""The naive way to wait for Transcribe, for comparison only: the article's Wait/Get/Choice loop
written literally as a workflow loop (benchmark code; nothing in the product polls like this).

Every round costs a GetTranscriptionJob activity (scheduled, started, completed), a
20-second timer (started, fired) and the workflow tasks between them, so the history
grows with the length of the transcription.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from activities.media.contracts import (
        AwaitTranscriptInput,
        CopiedMedia,
        CopyMediaInput,
        MediaJobRequest,
        MediaJobResult,
        PostProcessInput,
        StartTranscriptionInput,
        TranscriptionStarted,
        TranscriptRef,
        TranslateInput,
        TranslationsDone,
    )

POLL_INTERVAL = timedelta(seconds=20)
CHECKS: Counter[str] = Counter()
"""GetTranscriptionJob calls per job (the stand-in answers COMPLETED at the requested count)."""


@activity.defn(name="naive_get_transcription_status")
async def get_transcription_status(request: AwaitTranscriptInput) -> str:
    """Stand-in for GetTranscriptionJob: the job id says after how many checks it completes."""
    CHECKS[request.job_id] += 1
    polls = int(request.job_id.rsplit("-", 1)[-1])
    return "COMPLETED" if CHECKS[request.job_id] >= polls else "IN_PROGRESS"


@workflow.defn
class NaivePollingMediaWorkflow:
    """The same pipeline, but the wait is a timer-and-check loop in workflow code."""

    @workflow.run
    async def run(self, request: MediaJobRequest) -> int:
        timeout = timedelta(seconds=30)
        media = await workflow.execute_activity(
            "copy_media",
            CopyMediaInput(request.job_id, request.media_uri),
            result_type=CopiedMedia,
            start_to_close_timeout=timeout,
        )
        start = StartTranscriptionInput(request.job_id, workflow.info().workflow_id, media.processing_uri, "en-US")
        started = await workflow.execute_activity(
            "start_transcription", start, result_type=TranscriptionStarted, start_to_close_timeout=timeout
        )
        polls = 0
        while True:
            polls += 1
            check = AwaitTranscriptInput(request.job_id, started.job_name)
            status = await workflow.execute_activity(get_transcription_status, check, start_to_close_timeout=timeout)
            if status == "COMPLETED":
                break
            await workflow.sleep(POLL_INTERVAL)
        transcript = TranscriptRef(f"s3://stepwise-processing/media-jobs/{request.job_id}/transcript.txt", 200, polls)
        translate = TranslateInput(request.job_id, transcript.uri, request.language_code, request.target_languages)
        done = await workflow.execute_activity(
            "translate_transcript", translate, result_type=TranslationsDone, start_to_close_timeout=timeout
        )
        finish = PostProcessInput(request, started.job_name, media.processing_uri, transcript, done.translations)
        await workflow.execute_activity(
            "post_process_media", finish, result_type=MediaJobResult, start_to_close_timeout=timeout
        )
        return polls
