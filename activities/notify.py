"""Publish an SNS message at most once per business key, through the notification ledger.

The ledger row is written before publishing and completed with the message id after,
so a retried activity or a replayed workflow never sends a second message for a key
whose publish was recorded. Standard SNS topics take no idempotency token, so the one
window left is a worker dying between the publish and its record: the retry then
publishes again (at least once, never silently lost).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from activities.aws import AwsClients
from activities.db import SessionMaker
from activities.models import NotificationLedger


@dataclass(frozen=True)
class Published:
    """What :func:`Notifier.publish_once` did."""

    message_id: str
    """SNS message id (of the first publish when ``duplicate``)."""
    duplicate: bool
    """True when the key was already in the ledger and nothing was sent now."""


class Notifier:
    """SNS publishing de-duplicated by the ledger; topics are given by name."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker) -> None:
        self._aws = aws
        self._sessions = sessions
        self._arns: dict[str, str] = {}

    async def topic_arn(self, topic: str) -> str:
        """The ARN of a topic by name (CreateTopic is idempotent and returns it)."""
        if topic not in self._arns:
            self._arns[topic] = (await self._aws.call("sns", "create_topic", Name=topic))["TopicArn"]
        return self._arns[topic]

    async def publish_once(self, key: str, topic: str, subject: str, body: str) -> Published:
        """Publish ``body`` to ``topic`` unless ``key`` was published before."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert(NotificationLedger)
                .values(notification_key=key, topic=topic, subject=subject[:100], body=body)
                .on_conflict_do_nothing()
            )
            sent = await session.scalar(
                select(NotificationLedger.message_id).where(NotificationLedger.notification_key == key)
            )
        if sent:
            return Published(message_id=sent, duplicate=True)
        response = await self._aws.call(
            "sns", "publish", TopicArn=await self.topic_arn(topic), Subject=subject[:100], Message=body
        )
        message_id = str(response["MessageId"])
        async with self._sessions.begin() as session:
            await session.execute(
                update(NotificationLedger)
                .where(NotificationLedger.notification_key == key, NotificationLedger.message_id.is_(None))
                .values(message_id=message_id)
            )
        return Published(message_id=message_id, duplicate=False)
