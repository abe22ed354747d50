"""The B2B intake against moto's SQS and the dev server: what it starts, deletes and leaves."""

from __future__ import annotations

import json
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_id_for, batch_workflow_id
from activities.common.aws import AwsClients
from activities.common.resources import Resources
from tests.support.b2b import isolated_resources, new_partner, prefixed, put_inbound, wait_for
from worker.intake import B2BIntake, objects_in, partner_of
from worker.settings import Settings


def test_keys_arrive_url_encoded_and_name_their_partner() -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": "b"},
                        "object": {"key": "b2b-inbound%2Facme%2Fday+1%2B2.xml", "eTag": "e1"},
                    },
                },
                {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "x"}}},
            ]
        }
    )
    (found,) = objects_in(body) or []
    assert (found.key, found.etag) == ("b2b-inbound/acme/day 1+2.xml", "e1")
    assert partner_of(found.key) == "acme"
    assert partner_of("b2b-inbound/file.xml") is None
    assert partner_of("b2b-inbound/Not A Partner/file.xml") is None
    assert partner_of("b2b-inbound/batch/file.xml") is None  # reserved: batch workflow ids
    assert partner_of("b2b-inbound/acme-eu/file.xml") is None  # "-" ends the partner in b2b-<partner>-<id>
    assert objects_in(json.dumps({"Event": "s3:TestEvent"})) == []
    assert objects_in("not json") is None


async def _queue(aws: AwsClients, resources: Resources) -> str:
    return str((await aws.call("sqs", "get_queue_url", QueueName=resources.b2b_intake_queue))["QueueUrl"])


async def _depth(aws: AwsClients, resources: Resources) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    url = await _queue(aws, resources)
    attributes = (await aws.call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=names))["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


async def test_test_events_are_deleted_and_unattributable_messages_left_for_the_dead_letter_queue(
    dev_env: WorkflowEnvironment, settings: Settings, aws: AwsClients, aws_endpoint: str
) -> None:
    resources = isolated_resources()
    intake = B2BIntake(dev_env.client, aws, resources, settings.worker.task_queue, prefixed(settings, resources).b2b)
    await intake.poll_once()  # the queue's own S3 test event
    url = await _queue(aws, resources)
    await aws.call("sqs", "send_message", QueueUrl=url, MessageBody=json.dumps({"Event": "s3:TestEvent"}))
    await aws.call("sqs", "send_message", QueueUrl=url, MessageBody="garbage")
    await put_inbound(aws, resources, "", "no-partner.xml", b"<Transactions/>")  # b2b-inbound//no-partner.xml
    deleted = sum([await intake.poll_once() for _ in range(3)])
    assert deleted == 1
    assert await _depth(aws, resources) == (0, 2)  # received, not deleted: back after the visibility timeout


async def test_a_message_is_deleted_only_once_the_start_is_acknowledged(
    dev_env: WorkflowEnvironment, settings: Settings, aws: AwsClients, aws_endpoint: str
) -> None:
    resources = isolated_resources()
    config = prefixed(settings, resources).b2b
    partner = new_partner()
    healthy = B2BIntake(dev_env.client, aws, resources, settings.worker.task_queue, config)
    await healthy.poll_once()  # drain the queue's S3 test event
    key, etag = await put_inbound(aws, resources, partner, "a.xml", b"<Transactions/>")
    target = dev_env.client.service_client.config.target_host
    broken_client = await Client.connect(target, namespace="no-such-namespace")
    broken = B2BIntake(broken_client, aws, resources, settings.worker.task_queue, config)
    assert await broken.poll_once() == 0
    assert await _depth(aws, resources) == (0, 1)

    async def handled() -> int:
        return await healthy.poll_once()

    assert await wait_for(handled, timeout=20, interval=0.5) == 1  # redelivered within seconds, then started
    description: Any = await dev_env.client.get_workflow_handle(
        batch_workflow_id(partner, batch_id_for(partner, key, etag))
    ).describe()
    assert description.workflow_type == "B2BBatchWorkflow"
    assert await _depth(aws, resources) == (0, 0)
    await dev_env.client.get_workflow_handle(description.id).terminate("test over")
