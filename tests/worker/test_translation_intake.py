"""The translation intake against moto's S3 events and SQS and the dev server: files dropped by
any S3 client become one project per folder; what cannot be attributed is left for the DLQ."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.translation.contracts import project_workflow_id
from tests.conftest import make_deps
from tests.support.step_control import wait_waiting
from tests.support.translation import xliff12
from worker.settings import Settings
from worker.translation_intake import TranslationIntake, project_of


def test_keys_name_their_customer_and_project() -> None:
    assert project_of("translation-inbound/acme/launch/guide.xlf") == ("acme", "launch")
    assert project_of("translation-inbound/acme/launch/terminology/terms.csv") == ("acme", "launch")
    assert project_of("translation-inbound/acme/launch/") is None
    assert project_of("translation-inbound/acme-corp/launch/a.xlf") is None  # a customer id has no dash
    assert project_of("translation-inbound/acme/../a.xlf") is None
    assert project_of("b2b-inbound/acme/launch/a.xlf") is None


async def _depth(aws: AwsClients, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = (await aws.call("sqs", "get_queue_attributes", QueueUrl=queue_url, AttributeNames=names))["Attributes"]
    return sum(int(attributes[name]) for name in names)


async def test_files_dropped_by_any_s3_client_start_one_project_and_bad_folders_stay_queued(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    fast = settings.model_copy(
        update={"translation": settings.translation.model_copy(update={"settle_seconds": 1.0, "poll_seconds": 0.3})}
    )
    queue_url = await aws.queue_url(resources.translation_intake_queue)
    await aws.call("sqs", "purge_queue", QueueUrl=queue_url)
    project = f"dropped-{time.monotonic_ns()}"
    bucket = resources.translation_bucket
    for name in ("one.xlf", "two.xlf"):
        body = xliff12({"1": f"The {name} file."})
        await aws.call("s3", "put_object", Bucket=bucket, Key=f"translation-inbound/acme/{project}/{name}", Body=body)
    await aws.call("s3", "put_object", Bucket=bucket, Key="translation-inbound/Bad-Name/x/a.xlf", Body=b"<x/>")
    async with aiohttp.ClientSession() as http:
        deps = make_deps(dev_env.client, sessions, resources, aws, http, fast)
        intake = TranslationIntake(dev_env.client, fast, deps)
        intake.wait_seconds = 0
        deleted = 0
        for _ in range(10):
            deleted += await intake.poll_once()
            if deleted >= 2:
                break
        assert deleted == 2
        assert await _depth(aws, queue_url) == 1  # the unattributable one, for the dead-letter queue
        handle = dev_env.client.get_workflow_handle(project_workflow_id("acme", project))
        first_run = (await handle.describe()).run_id
        async with stepwise_worker(dev_env.client):
            await wait_waiting(handle, "review", timeout=60)
        # The same file dropped again signals the same project: no second project, no new run.
        await aws.call("s3", "put_object", Bucket=bucket, Key=f"translation-inbound/acme/{project}/one.xlf", Body=b"x")
        for _ in range(10):
            if await intake.poll_once():
                break
        assert (await handle.describe()).run_id == first_run
        await handle.terminate("test done")
