"""Reading the world the pipelines change: DynamoDB items, SQS/SNS messages, provider charges."""

from __future__ import annotations

import json
import uuid
from typing import Any

from activities.common.aws import AwsClients


async def seat_capacity(aws: AwsClients, table: str, flight_id: str) -> int:
    """Seats left on a flight."""
    item = await aws.call("dynamodb", "get_item", TableName=table, Key={"id": {"S": flight_id}}, ConsistentRead=True)
    return int(item["Item"]["seatCapacity"]["N"])


class QueueReader:
    """Collects every message of one SQS queue (optionally subscribed to an SNS topic)."""

    def __init__(self, aws: AwsClients, url: str) -> None:
        self._aws = aws
        self.url = url
        self.messages: list[dict[str, Any]] = []
        self.keys: list[str | None] = []
        """Each message's ``notification_key`` attribute, in the order of :attr:`messages`."""

    @classmethod
    async def subscribed_to(cls, aws: AwsClients, topic: str) -> QueueReader:
        """A fresh queue receiving the topic's messages (raw delivery)."""
        url = (await aws.call("sqs", "create_queue", QueueName=f"test-{uuid.uuid4().hex[:12]}"))["QueueUrl"]
        arn = (await aws.call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"]))["Attributes"][
            "QueueArn"
        ]
        topic_arn = (await aws.call("sns", "create_topic", Name=topic))["TopicArn"]
        await aws.call(
            "sns",
            "subscribe",
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return cls(aws, url)

    @classmethod
    async def of_queue(cls, aws: AwsClients, queue: str) -> QueueReader:
        """A reader of an existing queue."""
        return cls(aws, (await aws.call("sqs", "get_queue_url", QueueName=queue))["QueueUrl"])

    async def drain(self) -> list[dict[str, Any]]:
        """Receive and delete everything waiting; return all messages seen so far (bodies parsed
        when they are JSON)."""
        while True:
            response = await self._aws.call(
                "sqs",
                "receive_message",
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            batch = response.get("Messages", [])
            if not batch:
                return self.messages
            for message in batch:
                try:
                    body = json.loads(message["Body"])
                except ValueError:  # kept as it came (an unreadable event on an intake queue)
                    body = message["Body"]
                self.messages.append(body)
                key = message.get("MessageAttributes", {}).get("notification_key", {}).get("StringValue")
                self.keys.append(key)
                await self._aws.call("sqs", "delete_message", QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    async def distinct(self) -> list[dict[str, Any]]:
        """Drain, then keep one message per ``notification_key`` (what a deduping consumer sees)."""
        await self.drain()
        seen: set[str] = set()
        kept = []
        for key, body in zip(self.keys, self.messages, strict=True):
            if key is not None and key in seen:
                continue
            if key is not None:
                seen.add(key)
            kept.append(body)
        return kept

    async def about(self, booking_id: str) -> list[dict[str, Any]]:
        """Messages whose body names this booking."""
        return [m for m in await self.drain() if m.get("booking_id") == booking_id]
