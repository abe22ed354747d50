"""Pure helpers of the media pipeline: language codes, S3 URIs, Transcribe's transcript document."""

from __future__ import annotations

import boto3
import pytest

from activities.common.s3_uri import InvalidS3Uri, parse_s3_uri
from activities.media.keys import MediaKeys
from activities.media.languages import TRANSCRIBE_LANGUAGES, translate_source_language
from activities.media.transcripts import TranscriptMalformed, transcript_text
from worker.devstack.emulators.transcribe import transcript_document


def test_transcribe_codes_are_the_ones_the_sdk_accepts() -> None:
    model = boto3.session.Session().get_available_services()
    assert "transcribe" in model
    client = boto3.client("transcribe", region_name="us-east-1")
    assert set(client.meta.service_model.shape_for("LanguageCode").enum) >= TRANSCRIBE_LANGUAGES


@pytest.mark.parametrize(
    ("transcribe", "translate"),
    [("en-US", "en"), ("fr-CA", "fr-CA"), ("pt-PT", "pt-PT"), ("pt-BR", "pt"), ("zh-TW", "zh-TW"), ("ckb-IQ", None)],
)
def test_the_translate_source_follows_the_spoken_language(transcribe: str, translate: str | None) -> None:
    assert translate_source_language(transcribe) == translate


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("https://bucket/key", "expected s3://"),
        ("s3://Bad_Bucket/key", "not a valid S3 bucket"),
        ("s3://bucket", "names no object"),
        ("s3://bucket/folder/", "names no object"),
    ],
)
def test_bad_s3_uris_say_what_is_wrong(uri: str, problem: str) -> None:
    with pytest.raises(InvalidS3Uri, match=problem):
        parse_s3_uri(uri)


def test_an_s3_uri_round_trips() -> None:
    location = parse_s3_uri("s3://stepwise-media/demo/a b.wav")
    assert (location.bucket, location.key, location.uri) == (
        "stepwise-media",
        "demo/a b.wav",
        "s3://stepwise-media/demo/a b.wav",
    )


def test_the_transcript_text_is_read_from_transcribes_document() -> None:
    document = transcript_document("media-1", "Hello, world. Bye.")
    assert transcript_text(document) == "Hello, world. Bye."
    assert [item["type"] for item in document["results"]["items"]] == [
        "pronunciation",
        "punctuation",
        "pronunciation",
        "punctuation",
        "pronunciation",
        "punctuation",
    ]


@pytest.mark.parametrize("document", [b"not json", b"[]", b'{"results": {}}', b'{"results": {"transcripts": [{}]}}'])
def test_a_malformed_document_is_named(document: bytes) -> None:
    with pytest.raises(TranscriptMalformed):
        transcript_text(document)


def test_job_keys_are_deterministic_and_keep_a_plain_extension() -> None:
    keys = MediaKeys("job-1")
    assert keys.media("uploads/Talk.MP4") == "media-jobs/job-1/media.mp4"
    assert keys.media("uploads/odd.name with spaces") == "media-jobs/job-1/media"
    assert keys.transcribe_output == "media-jobs/job-1/transcribe.json"
    assert keys.translation_part("es", 3, "abc") == "media-jobs/job-1/translations/es/parts/00003-abc.txt"
