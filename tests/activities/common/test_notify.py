"""The notification ledger sends each message once, whatever the length of its subject."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.notify import SUBJECT_LIMIT, Notifier
from activities.models.common import NotificationLedger
from tests.support.world import QueueReader

# A subject that names a long business id: a booking's dead letter for a partner's 100-character
# request id ("Booking acme.rrr… failed"), a translation review request for a long project id.
LONG_SUBJECT = "Booking acme." + "r" * 130 + " failed"


async def _ledger_row(sessions: SessionMaker, key: str) -> NotificationLedger:
    async with sessions() as session:
        return (
            await session.scalars(select(NotificationLedger).where(NotificationLedger.notification_key == key))
        ).one()


async def test_a_long_subject_is_published_once_under_its_first_hundred_characters(
    sessions: SessionMaker, aws: AwsClients
) -> None:
    topic = f"test-notify-{uuid.uuid4().hex[:8]}"
    subscriber = await QueueReader.subscribed_to(aws, topic)
    notifier = Notifier(aws, sessions)
    key = f"test:{uuid.uuid4()}:long-subject"

    first = await notifier.publish_once(key, topic, LONG_SUBJECT, '{"n": 1}')
    again = await notifier.publish_once(key, topic, LONG_SUBJECT, '{"n": 1}')

    assert first.sent_now and not again.sent_now
    assert again.message_id == first.message_id
    row = await _ledger_row(sessions, key)
    assert row.subject == LONG_SUBJECT[:SUBJECT_LIMIT] and row.message_id == first.message_id
    assert await subscriber.drain() == [{"n": 1}]
    assert subscriber.keys == [key]


async def test_a_long_subject_is_sent_to_a_queue_once(sessions: SessionMaker, aws: AwsClients) -> None:
    queue = f"test-notify-{uuid.uuid4().hex[:8]}"
    await aws.call("sqs", "create_queue", QueueName=queue)
    notifier = Notifier(aws, sessions)
    key = f"test:{uuid.uuid4()}:dead-letter"

    first = await notifier.send_once(key, queue, LONG_SUBJECT, '{"story": "long"}')
    again = await notifier.send_once(key, queue, LONG_SUBJECT, '{"story": "long"}')

    assert first.sent_now and not again.sent_now
    assert (await _ledger_row(sessions, key)).subject == LONG_SUBJECT[:SUBJECT_LIMIT]
    reader = await QueueReader.of_queue(aws, queue)
    assert await reader.drain() == [{"story": "long"}]
    assert reader.keys == [key]
