"""Media pipeline test helpers: put media and its transcript sidecar where the emulation finds them."""

from __future__ import annotations

import uuid

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.media.contracts import MediaJobRequest
from worker.devstack.seed import TRANSCRIPT_SIDECAR_SUFFIX

DEMO_TEXT = (
    "The B2B integration pipeline accepts transactions both in batch and in real-time modes. "
    "Batch communication is over open standard SFTP protocol. Real-time communication is over REST. 42."
)
"""Four sentences; the last has no letters, so Translate returns it unchanged (not flagged)."""


async def upload_media(
    aws: AwsClients, resources: Resources, transcript: str | None, name: str = "talk.wav", folder: str = "tests"
) -> str:
    """Unique media bytes and (unless None) the sidecar the Transcribe emulation reads; the media's URI."""
    key = f"{folder}/{uuid.uuid4().hex}/{name}"
    # Unique content: the emulation finds the sidecar of a copied object by its ETag.
    body = b"RIFF" + uuid.uuid4().bytes + b"WAVEfmt "
    await aws.call("s3", "put_object", Bucket=resources.media_bucket, Key=key, Body=body)
    if transcript is not None:
        await aws.call(
            "s3",
            "put_object",
            Bucket=resources.media_bucket,
            Key=key + TRANSCRIPT_SIDECAR_SUFFIX,
            Body=transcript.encode("utf-8"),
        )
    return f"s3://{resources.media_bucket}/{key}"


def media_request(media_uri: str, targets: tuple[str, ...] = ("es", "fr"), **overrides: object) -> MediaJobRequest:
    """A request for a fresh job id, polling every second (the dev server's minimum)."""
    fields: dict[str, object] = {
        "job_id": f"t-{uuid.uuid4().hex[:12]}",
        "media_uri": media_uri,
        "language_code": "en-US",
        "target_languages": list(targets),
        "poll_interval_seconds": 1.0,
        "max_wait_seconds": 120.0,
    }
    fields.update(overrides)
    return MediaJobRequest(**fields)  # type: ignore[arg-type]
