"""Send each notification once: SNS publishes and SQS dead-letter messages behind a ledger.

The ledger row (``notification_ledger``, keyed by business id + purpose) is claimed in
the same transaction that records the message id, under a row lock, so concurrent or
retried attempts serialise and a key that has a message id is never sent again. The
residual window — the process dies after AWS accepted the message and before the
commit — can repeat one message; consumers of these topics and queues dedupe on the
``notification_key`` attribute every message carries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, transaction
from activities.models.common import NotificationLedger

LEDGER = cast(Table, NotificationLedger.__table__)
SUBJECT_LIMIT = 100
"""The longest subject kept: the ledger's column, and SNS's own limit. Longer ones are cut, not
refused: a subject names a business id, which may be long, and a notice must not fail for it."""


@dataclass(frozen=True)
class Sent:
    """Outcome of a send: the AWS message id and whether this call sent it."""

    message_id: str
    sent_now: bool


class Notifier:
    """Publishes to SNS topics and sends to SQS queues at most once per key."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker) -> None:
        self._aws = aws
        self._sessions = sessions
        self._topic_arns: dict[str, str] = {}

    async def topic_arn(self, topic: str) -> str:
        """The ARN of a declared topic (CreateTopic is idempotent and returns it)."""
        if topic not in self._topic_arns:
            self._topic_arns[topic] = (await self._aws.call("sns", "create_topic", Name=topic))["TopicArn"]
        return self._topic_arns[topic]

    async def publish_once(self, key: str, topic: str, subject: str, body: str) -> Sent:
        """Publish ``body`` to the SNS ``topic`` unless ``key`` was published before."""

        async def publish() -> str:
            response = await self._aws.call(
                "sns",
                "publish",
                TopicArn=await self.topic_arn(topic),
                Subject=subject[:SUBJECT_LIMIT],
                Message=body,
                MessageAttributes={"notification_key": {"DataType": "String", "StringValue": key}},
            )
            return str(response["MessageId"])

        return await self._once(key, topic, subject, body, publish)

    async def send_once(self, key: str, queue: str, subject: str, body: str) -> Sent:
        """Send ``body`` to the SQS ``queue`` unless ``key`` was sent before."""

        async def send() -> str:
            response = await self._aws.call(
                "sqs",
                "send_message",
                QueueUrl=await self._aws.queue_url(queue),
                MessageBody=body,
                MessageAttributes={"notification_key": {"DataType": "String", "StringValue": key}},
            )
            return str(response["MessageId"])

        return await self._once(key, queue, subject, body, send)

    async def _once(
        self, key: str, target: str, subject: str, body: str, deliver: Callable[[], Awaitable[str]]
    ) -> Sent:
        subject = subject[:SUBJECT_LIMIT]
        async with transaction(self._sessions) as connection:
            # Claim the key: a fresh row is ours (its uncommitted insert makes any concurrent
            # claimant wait on the key until we commit). If the key exists, lock it and see
            # whether an earlier attempt already sent the message.
            claimed = await connection.scalar(
                insert(LEDGER)
                .values(notification_key=key, topic=target, subject=subject, body=body)
                .on_conflict_do_nothing()
                .returning(LEDGER.c.notification_key)
            )
            if claimed is None:
                sent_before = await connection.scalar(
                    select(LEDGER.c.message_id).where(LEDGER.c.notification_key == key).with_for_update()
                )
                if sent_before is not None:
                    return Sent(sent_before, sent_now=False)
            message_id = await deliver()
            await connection.execute(
                update(LEDGER).where(LEDGER.c.notification_key == key).values(message_id=message_id)
            )
            return Sent(message_id, sent_now=True)
