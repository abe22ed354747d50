"""Batch activities against moto and Postgres: a failed batch is recorded and dead-lettered once."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.b2b.batch import B2BBatchActivities
from activities.b2b.contracts import BatchFailure, BatchFile
from activities.b2b.transaction import send_dead_letter
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from tests.support.b2b import batch_row, new_partner
from tests.support.world import QueueReader


async def test_a_failed_batch_is_marked_and_dead_lettered_once(
    sessions: SessionMaker, aws: AwsClients, resources: Resources, dev_env: Any
) -> None:
    partner = new_partner()
    file = BatchFile(partner, uuid.uuid4().hex[:24], resources.b2b_bucket, f"b2b-inbound/{partner}/f.xml", "etag")
    activities = B2BBatchActivities(aws, sessions, resources, dev_env.client)
    env = ActivityEnvironment()
    await env.run(activities.register_batch, file)
    failure = BatchFailure(file.batch_id, "dispatch-3", "s3.get_object: NoSuchKey")
    await env.run(activities.fail_batch, failure)
    await env.run(activities.fail_batch, failure)  # a retried step records nothing new
    row = await batch_row(sessions, file.batch_id)
    assert row is not None and (row.status, row.reason) == ("FAILED", "dispatch-3: s3.get_object: NoSuchKey")
    url = (await aws.call("sqs", "get_queue_url", QueueName=resources.b2b_dlq))["QueueUrl"]
    stories = []
    for _ in range(3):
        received = await aws.call("sqs", "receive_message", QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        stories += [json.loads(m["Body"]) for m in received.get("Messages", [])]
    mine = [s for s in stories if s.get("batch_id") == file.batch_id]
    assert len(mine) == 1
    assert mine[0] | {"object_key": file.key} == {
        "kind": "batch",
        "partner_id": partner,
        "object_key": file.key,
        "batch_id": file.batch_id,
        "step": "dispatch-3",
        "reason": "s3.get_object: NoSuchKey",
    }


async def test_a_dead_letter_is_sent_once_per_run_whatever_the_retries(
    sessions: SessionMaker, aws: AwsClients, resources: Resources
) -> None:
    # The window the status check cannot close: the message went out, the status write after it
    # failed, and the activity runs again. The ledger (keyed by the run) sends nothing twice; a
    # run started again for the same batch (a redrive) reports its own failure.
    batch_id = uuid.uuid4().hex[:24]
    story = {"kind": "batch", "batch_id": batch_id, "step": "dispatch-1", "reason": "boom"}
    notifier = Notifier(aws, sessions)
    first_run = ActivityEnvironment()
    for _ in range(2):
        await first_run.run(send_dead_letter, notifier, resources.b2b_dlq, f"batch:{batch_id}", story)
    second_run = ActivityEnvironment()
    second_run.info = dataclasses.replace(first_run.info, workflow_run_id=str(uuid.uuid4()))
    await second_run.run(send_dead_letter, notifier, resources.b2b_dlq, f"batch:{batch_id}", story)

    reader = await QueueReader.of_queue(aws, resources.b2b_dlq)
    mine = [s for s in await reader.drain() if isinstance(s, dict) and s.get("batch_id") == batch_id]
    assert mine == [story, story]
