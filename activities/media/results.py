"""The media pipeline's post-processing (the translation article's post-processing workflow).

For each target language: check every segment came back, flag the machine-translated
ones (a segment whose output differs from its input; names and numbers often come back
unchanged and need no review), assemble the translation. Then store transcript and
translations in S3 and Postgres and announce the job on SNS, once, through the ledger.
Every write is an overwrite or an upsert, so the step is safe to retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.s3_uri import parse_s3_uri
from activities.media.contracts import TRANSLATION_INCOMPLETE, MediaJobResult, PostProcessInput, TranslationSummary
from activities.media.keys import MediaKeys, media_workflow_id
from activities.media.translation import Segment, Translator, segments_of
from activities.models.media import MediaJob, MediaTranslation


@dataclass(frozen=True)
class CheckedTranslation:
    """One language, verified and flagged, ready to store."""

    language: str
    text: str
    segments: list[dict[str, Any]]
    """[{index, source, translation, machine_translated}] in order."""

    @property
    def flagged(self) -> int:
        """Segments that were machine translated."""
        return sum(1 for s in self.segments if s["machine_translated"])


def check_translation(language: str, segments: list[Segment], parts: dict[int, str]) -> CheckedTranslation:
    """Verify every segment has a translation; raise ``TranslationIncomplete`` naming the missing ones."""
    missing = [s.index for s in segments if s.index not in parts or (not s.blank and not parts[s.index].strip())]
    if missing:
        raise ApplicationError(
            f"{language}: {len(missing)} of {len(segments)} segments have no translation (segments {missing[:10]})",
            {"language": language, "missing": missing},
            type=TRANSLATION_INCOMPLETE,
            non_retryable=True,
        )
    rows = [
        {
            "index": s.index,
            "source": s.source,
            "translation": parts[s.index],
            "machine_translated": parts[s.index].strip() != s.source.strip(),
        }
        for s in segments
    ]
    return CheckedTranslation(language, "".join(parts[s.index] for s in segments), rows)


class ResultWriter:
    """Stores a finished job in S3 and Postgres and publishes its notification."""

    def __init__(
        self, aws: AwsClients, sessions: SessionMaker, resources: Resources, notifier: Notifier, translator: Translator
    ) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._notifier = notifier
        self._translator = translator

    async def finish(self, request: PostProcessInput) -> MediaJobResult:
        """Verify, flag, store and notify; the result says where everything is."""
        job = request.request
        keys = MediaKeys(job.job_id)
        location = parse_s3_uri(request.transcript.uri)
        transcript = (await self._aws.read_object(location.bucket, location.key)).decode("utf-8")
        segments = segments_of(transcript)
        checked = [
            check_translation(language, segments, await self._translator.read_parts(keys, segments, language))
            for language in job.target_languages
        ]
        summaries = [await self._store_translation(keys, translation) for translation in checked]
        manifest_uri = await self._put_json(keys.manifest, self._manifest(request, summaries))
        await self._save_rows(request, transcript, manifest_uri, checked, summaries)
        sent = await self._notifier.publish_once(
            f"{media_workflow_id(job.job_id)}:completed",
            self._resources.media_notifications_topic,
            f"Media job {job.job_id} transcribed and translated"[:100],  # the ledger's subject column
            json.dumps({"event": "media.completed", **self._manifest(request, summaries)}),
        )
        return MediaJobResult(
            job_id=job.job_id,
            transcript_uri=request.transcript.uri,
            manifest_uri=manifest_uri,
            polls=request.transcript.polls,
            translations=summaries,
            notification_id=sent.message_id,
        )

    async def _store_translation(self, keys: MediaKeys, translation: CheckedTranslation) -> TranslationSummary:
        bucket = self._resources.processing_bucket
        text_key = keys.translation_text(translation.language)
        await self._aws.call(
            "s3",
            "put_object",
            Bucket=bucket,
            Key=text_key,
            Body=translation.text.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )
        segments_uri = await self._put_json(keys.translation_segments(translation.language), translation.segments)
        return TranslationSummary(
            language=translation.language,
            text_uri=f"s3://{bucket}/{text_key}",
            segments_uri=segments_uri,
            segments=len(translation.segments),
            machine_translated_segments=translation.flagged,
        )

    async def _put_json(self, key: str, document: Any) -> str:
        bucket = self._resources.processing_bucket
        body = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        await self._aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{bucket}/{key}"

    @staticmethod
    def _manifest(request: PostProcessInput, summaries: list[TranslationSummary]) -> dict[str, Any]:
        job = request.request
        source_bytes = {ref.language: ref.source_bytes for ref in request.translations}
        return {
            "job_id": job.job_id,
            "workflow_id": media_workflow_id(job.job_id),
            "media_uri": job.media_uri,
            "language_code": job.language_code,
            "transcript_uri": request.transcript.uri,
            "translations": {
                s.language: {
                    "text_uri": s.text_uri,
                    "segments_uri": s.segments_uri,
                    "segments": s.segments,
                    "machine_translated_segments": s.machine_translated_segments,
                    "source_bytes": source_bytes.get(s.language),
                }
                for s in summaries
            },
        }

    async def _save_rows(
        self,
        request: PostProcessInput,
        transcript: str,
        manifest_uri: str,
        checked: list[CheckedTranslation],
        summaries: list[TranslationSummary],
    ) -> None:
        job = request.request
        values: dict[str, Any] = {
            "workflow_id": media_workflow_id(job.job_id),
            "media_uri": job.media_uri,
            "language_code": job.language_code,
            "target_languages": list(job.target_languages),
            "owner": job.owner,
            "status": "COMPLETED",
            "transcription_job_name": request.job_name,
            "processing_uri": request.processing_uri,
            "transcript_uri": request.transcript.uri,
            "transcript": transcript,
            "transcript_bytes": request.transcript.size_bytes,
            "polls": request.transcript.polls,
            "manifest_uri": manifest_uri,
            "failed_step": None,
            "failure_type": None,
            "failure_reason": None,
        }
        async with self._sessions.begin() as session:
            await session.execute(
                insert(MediaJob)
                .values(job_id=job.job_id, **values)
                .on_conflict_do_update(index_elements=[MediaJob.job_id], set_=values)
            )
            for translation, summary in zip(checked, summaries, strict=True):
                row: dict[str, Any] = {
                    "translated_text": translation.text,
                    "text_uri": summary.text_uri,
                    "segments_uri": summary.segments_uri,
                    "segment_count": summary.segments,
                    "machine_translated_segments": summary.machine_translated_segments,
                    "segments": [
                        {
                            "index": s["index"],
                            "source_bytes": len(s["source"].encode("utf-8")),
                            "machine_translated": s["machine_translated"],
                        }
                        for s in translation.segments
                    ],
                }
                await session.execute(
                    insert(MediaTranslation)
                    .values(job_id=job.job_id, language_code=translation.language, **row)
                    .on_conflict_do_update(
                        index_elements=[MediaTranslation.job_id, MediaTranslation.language_code], set_=row
                    )
                )
