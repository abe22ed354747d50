"""Store one page's records: what the worker's queue consumer does with each message.

The article's ProcessPayload function. For one message (a claim check naming the page's S3
object and its job and task):

1. lock the task row; a task already SuccessfullyCompleted (a redelivered or duplicated
   message) only has its leftover object deleted;
2. read the object, validate it, upsert every record into ``partner_records`` by
   (partner, record id) — a record whose content did not change is not written at all —
   and mark the task SuccessfullyCompleted, in one transaction;
3. delete the object (after the commit: a crash in between leaves an object the
   redelivered message deletes, never a completed task without its records).

A message that cannot be processed raises :class:`PageNotProcessed`; on its last allowed
receive the consumer marks the task FailedToComplete with the reason, and SQS moves the
message to the dead-letter queue (the object stays, for whoever redrives it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker, transaction
from activities.models.poller import PartnerRecord, PollerJob, PollerTask
from activities.poller import tasks
from activities.poller.contracts import FAILED, SUCCEEDED, raw_key
from activities.poller.pages import PageRefused, Record, parse_page

UPSERT_BATCH = 1000
"""Records per INSERT (five parameters each, well under asyncpg's 32,767)."""


class PageNotProcessed(Exception):
    """The message could not be processed (this time); the message says why."""


@dataclass(frozen=True)
class PageMessage:
    """What a payload message names."""

    job_id: str
    task_id: str
    partner: str
    bucket: str
    key: str


def read_message(message: dict[str, Any]) -> PageMessage:
    """The message's claim check, or :class:`PageNotProcessed` for a body that is not one."""
    try:
        body = json.loads(message.get("Body", ""))
        return PageMessage(
            job_id=str(body["jobId"]),
            task_id=str(body["taskId"]),
            partner=str(body["partner"]),
            bucket=str(body["bucket"]),
            key=str(body["key"]),
        )
    except (ValueError, KeyError, TypeError):
        raise PageNotProcessed("not a poller payload message") from None


class PageProcessor:
    """Stores pages; one per worker process."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, bucket: str) -> None:
        self._aws = aws
        self._sessions = sessions
        self._bucket = bucket

    async def process(self, page: PageMessage) -> str:
        """Store the page's records; returns ``stored``, ``already-stored`` or ``no-task``."""
        if page.bucket != self._bucket:
            raise PageNotProcessed(f"payload in bucket {page.bucket!r}, not the poller's")
        async with transaction(self._sessions) as connection:
            task = (
                await connection.execute(
                    select(PollerTask.status, PollerTask.page, PollerJob.partner_id)
                    .join(PollerJob, PollerJob.job_id == PollerTask.job_id)
                    .where(PollerTask.job_id == page.job_id, PollerTask.task_id == page.task_id)
                    .with_for_update(of=PollerTask)
                )
            ).one_or_none()
            if task is None:
                return "no-task"  # purged by retention, or never created: nothing to update
            # The partner and the object come from the task, not from the message's word.
            if page.key != raw_key(task.partner_id, page.job_id, task.page) or page.partner != task.partner_id:
                raise PageNotProcessed(f"message names {page.key!r}, not the payload of {page.job_id}/{page.task_id}")
            if task.status in (SUCCEEDED, FAILED):
                outcome = "already-stored" if task.status == SUCCEEDED else "already-failed"
            else:
                records = await self._records(page)
                try:
                    await _upsert(connection, page, records)
                except DBAPIError as refused:
                    # Data Postgres will never take (a NUL in a string, say): the transaction
                    # rolls back, and the message fails this receive like any other poison.
                    raise PageNotProcessed(f"records refused by Postgres: {refused.orig}") from None
                await tasks.advance(connection, page.job_id, page.task_id, SUCCEEDED)
                outcome = "stored"
        if outcome in ("stored", "already-stored"):
            await self._aws.call("s3", "delete_object", Bucket=page.bucket, Key=page.key)
        return outcome

    async def give_up(self, page: PageMessage, reason: str) -> None:
        """The message's last receive failed: its task is FailedToComplete (the message goes to the DLQ)."""
        async with transaction(self._sessions) as connection:
            await tasks.advance(connection, page.job_id, page.task_id, FAILED, error=f"processing: {reason}"[:2000])

    async def _records(self, page: PageMessage) -> list[Record]:
        try:
            body = await self._aws.read_object(page.bucket, page.key)
        except Exception as error:  # the taxonomy's ApplicationError: missing object, S3 down
            raise PageNotProcessed(f"payload s3://{page.bucket}/{page.key} unreadable: {error}") from None
        try:
            return parse_page(body)
        except PageRefused as refused:
            raise PageNotProcessed(str(refused)) from None


async def _upsert(connection: Any, page: PageMessage, records: list[Record]) -> None:
    # The last of several records with one id on a page wins (Postgres refuses one INSERT touching a row twice).
    unique = list({record.record_id: record for record in records}.values())
    for start in range(0, len(unique), UPSERT_BATCH):
        batch = unique[start : start + UPSERT_BATCH]
        statement = insert(PartnerRecord).values(
            [
                {
                    "partner_id": page.partner,
                    "record_id": record.record_id,
                    "data": record.data,
                    "content_hash": record.content_hash,
                    "job_id": page.job_id,
                }
                for record in batch
            ]
        )
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[PartnerRecord.partner_id, PartnerRecord.record_id],
                set_={
                    "data": statement.excluded.data,
                    "content_hash": statement.excluded.content_hash,
                    "job_id": statement.excluded.job_id,
                    "revision": PartnerRecord.revision + 1,
                    "updated_at": func.now(),
                },
                # Unchanged content is not written: a replay or a re-poll changes nothing.
                where=PartnerRecord.content_hash != statement.excluded.content_hash,
            )
        )
