"""Translating a transcript with Amazon Translate, one checkpointed segment at a time.

The text is split into segments of whole sentences under Translate's request limit
(:mod:`activities.media.text_chunks`). Each translated segment is written to S3 under a key
made of the job, the language, the segment's position and a digest of its source text,
before the next one is sent. A retried attempt (after throttling, a timeout or a lost
worker) lists what is already there and sends only the rest, so no segment is paid for
twice, and a part whose source changed can never be mistaken for a current one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients, aws_error_code
from activities.media.contracts import UNSUPPORTED_LANGUAGE_PAIR, TranslationRef
from activities.media.keys import MediaKeys
from activities.media.languages import translate_source_language
from activities.media.text_chunks import chunk_text, utf8_size


@dataclass(frozen=True)
class Segment:
    """One TranslateText request's worth of whole sentences."""

    index: int
    source: str
    digest: str
    """First 16 hex digits of the source text's SHA-256."""

    @property
    def blank(self) -> bool:
        """Whitespace only: nothing to translate (Translate rejects empty text)."""
        return not self.source.strip()

    def with_source_spacing(self, translated: str) -> str:
        """The translation followed by the source's trailing whitespace, so segments join back."""
        return translated.rstrip() + self.source[len(self.source.rstrip()) :]


def segments_of(text: str) -> list[Segment]:
    """The text's segments, in order."""
    return [
        Segment(index, chunk, hashlib.sha256(chunk.encode("utf-8")).hexdigest()[:16])
        for index, chunk in enumerate(chunk_text(text))
    ]


def source_language(transcribe_code: str) -> str:
    """Translate's code for the transcript's language, or a non-retryable error."""
    code = translate_source_language(transcribe_code)
    if code is None:
        raise ApplicationError(
            f"Amazon Translate cannot translate from {transcribe_code}",
            type=UNSUPPORTED_LANGUAGE_PAIR,
            non_retryable=True,
        )
    return code


class Translator:
    """Translates segments into one language, checkpointing each to the processing bucket."""

    def __init__(self, aws: AwsClients, bucket: str) -> None:
        self._aws = aws
        self._bucket = bucket

    async def translate(self, keys: MediaKeys, segments: list[Segment], source: str, target: str) -> TranslationRef:
        """Translate every segment not translated by an earlier attempt."""
        done = await self.existing_parts(keys, target)
        bytes_sent = activity.metric_meter().create_counter(
            "stepwise_translation_bytes_total", "UTF-8 bytes of text sent to Amazon Translate", "bytes"
        )
        for segment in segments:
            key = keys.translation_part(target, segment.index, segment.digest)
            if key in done:
                continue
            translated = segment.source if segment.blank else await self._translate_text(segment, source, target)
            await self._aws.call("s3", "put_object", Bucket=self._bucket, Key=key, Body=translated.encode("utf-8"))
            if not segment.blank:
                bytes_sent.add(utf8_size(segment.source), {"target_language": target})
            activity.heartbeat(f"{target}: segment {segment.index + 1} of {len(segments)}")
        return TranslationRef(target, len(segments), sum(utf8_size(s.source) for s in segments))

    async def existing_parts(self, keys: MediaKeys, target: str) -> set[str]:
        """Keys of the translated segments already in S3."""
        found: set[str] = set()
        params = {"Bucket": self._bucket, "Prefix": keys.translation_parts(target)}
        while True:
            page = await self._aws.call("s3", "list_objects_v2", **params)
            found.update(item["Key"] for item in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return found
            params["ContinuationToken"] = page["NextContinuationToken"]

    async def read_parts(self, keys: MediaKeys, segments: list[Segment], target: str) -> dict[int, str]:
        """The translated text of each segment that has one, by segment index."""
        existing = await self.existing_parts(keys, target)
        parts: dict[int, str] = {}
        for segment in segments:
            key = keys.translation_part(target, segment.index, segment.digest)
            if key in existing:
                parts[segment.index] = (await self._aws.read_object(self._bucket, key)).decode("utf-8")
        return parts

    async def _translate_text(self, segment: Segment, source: str, target: str) -> str:
        try:
            response = await self._aws.call(
                "translate",
                "translate_text",
                Text=segment.source,
                SourceLanguageCode=source,
                TargetLanguageCode=target,
            )
        except ApplicationError as error:
            if aws_error_code(error) == "UnsupportedLanguagePairException":
                raise ApplicationError(
                    f"Amazon Translate does not support translating {source} into {target}",
                    {"source": source, "target": target},
                    type=UNSUPPORTED_LANGUAGE_PAIR,
                    non_retryable=True,
                ) from error
            raise
        return segment.with_source_spacing(str(response["TranslatedText"]))
