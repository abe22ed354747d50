"""Batch activities against moto and Postgres: a failed batch is recorded and dead-lettered once."""

from __future__ import annotations

import json
import uuid
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.b2b.batch import B2BBatchActivities
from activities.b2b.contracts import BatchFailure, BatchFile
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.support.b2b import batch_row, new_partner


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
