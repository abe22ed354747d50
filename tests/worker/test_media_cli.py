"""`stepwise media`: bad input is one line on stderr and a non-zero exit, before anything starts."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from tests.support.media import DEMO_TEXT, upload_media
from tests.support.processes import stack_env, stepwise
from worker.settings import Settings


@pytest.mark.parametrize(
    ("uri", "extra", "line"),
    [
        (
            "https://example.com/a.wav",
            [],
            "stepwise: MEDIA_URI: expected s3://bucket/key, got 'https://example.com/a.wav'",
        ),
        ("s3://stepwise-media/missing.wav", [], "stepwise: MEDIA_URI: no object at s3://stepwise-media/missing.wav"),
        # Another bucket is refused before anything is read there, whether or not the object exists.
        (
            "s3://stepwise-reports/recon/demo/snapshot.sql",
            [],
            "stepwise: MEDIA_URI: is not in a location you may submit media from",
        ),
        (None, ["--language", "en-XX"], "stepwise: --language: 'en-XX' is not an Amazon Transcribe language code"),
        (None, ["--to", "klingon"], "stepwise: --to: 'klingon' is not an Amazon Translate language code"),
        (None, ["--poll-interval", "nan"], "stepwise: --poll-interval: must be between 1 and 604800 seconds"),
    ],
)
async def test_bad_input_is_one_line_and_a_non_zero_exit(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    aws: AwsClients,
    resources: Resources,
    uri: str | None,
    extra: list[str],
    line: str,
) -> None:
    media_uri = uri or await upload_media(aws, resources, DEMO_TEXT)
    options = {"--language": "en-US", "--to": "es"}
    options.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    args = ["media", "start", media_uri, *[part for pair in options.items() for part in pair]]
    result = await asyncio.to_thread(stepwise, *args, env=stack_env(dev_env, settings))
    assert result.returncode != 0
    assert result.stderr.strip() == line
    assert result.stdout == ""


async def test_status_of_an_unknown_job_is_one_line(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    result = await asyncio.to_thread(stepwise, "media", "status", "nope", env=stack_env(dev_env, settings))
    assert (result.returncode, result.stderr.strip()) == (1, "stepwise: no media job 'nope'")
