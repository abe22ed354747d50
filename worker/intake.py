"""The B2B file intake: S3 ObjectCreated events on the b2b-intake queue -> batch workflows.

Runs inside the worker process (``STEPWISE_B2B__INTAKE_ENABLED``); every worker of the
fleet long-polls the same queue, SQS handing each message to one of them. One
``B2BBatchWorkflow`` is started per object version, with an id derived from partner +
key + ETag and a conflict policy that makes a redelivered event start nothing new. A
message is deleted only after Temporal acknowledged the start (or said it exists), so a
crash between the two redelivers the event instead of losing the file. A message that
cannot be attributed to a partner is left alone: after the queue's receive limit SQS
moves it to ``b2b-intake-dlq``, where an operator finds it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.b2b.contracts import BatchFile, BatchRun
from activities.b2b.records import valid_partner_id
from activities.b2b.split import INBOUND_PREFIX, batch_id_for, batch_workflow_id
from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.deps import ActivityDeps
from activities.common.resources import Resources
from worker.queue_poller import QueuePoller
from worker.settings import B2BSettings, Settings
from workflows.b2b.batch import B2BBatchWorkflow

log = logging.getLogger("stepwise.intake")
RETRY_VISIBILITY_SECONDS = 5


@dataclass(frozen=True)
class InboundObject:
    """One created object named by an S3 event."""

    bucket: str
    key: str
    """Decoded key (events carry it URL-encoded)."""
    etag: str
    """ETag without quotes."""
    size: int = 0
    """Bytes, as the event says (0 when it does not)."""


def partner_of(key: str) -> str | None:
    """The partner whose folder ``b2b-inbound/<partner>/...`` holds the key, if any."""
    if not key.startswith(INBOUND_PREFIX):
        return None
    parts = key[len(INBOUND_PREFIX) :].split("/", 1)
    if len(parts) != 2 or not parts[1] or not valid_partner_id(parts[0]):
        return None
    return parts[0]


def objects_in(body: str) -> list[InboundObject] | None:
    """The created objects an event message names; [] for S3's test event; None if unreadable."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if not isinstance(records, list):
        return None
    found = []
    for record in records:
        try:
            if not str(record["eventName"]).startswith("ObjectCreated"):
                continue
            s3 = record["s3"]
            found.append(
                InboundObject(
                    bucket=str(s3["bucket"]["name"]),
                    key=unquote_plus(str(s3["object"]["key"])),
                    etag=str(s3["object"].get("eTag", "")).strip('"'),
                    size=int(s3["object"].get("size", 0)),
                )
            )
        except (KeyError, TypeError, ValueError):
            return None
    return found


class B2BIntake(QueuePoller):
    """Long-polls the intake queue and starts batch workflows; ``running()`` ties it to a process."""

    name = "b2b-intake"

    def __init__(
        self, client: Client, aws: AwsClients, resources: Resources, task_queue: str, settings: B2BSettings
    ) -> None:
        self._client = client
        self._aws = aws
        self._resources = resources
        self._task_queue = task_queue
        self._settings = settings
        self.queue = resources.b2b_intake_queue
        self.wait_seconds = settings.intake_wait_seconds

    async def poll_once(self) -> int:
        """Receive up to 10 messages and handle them; return how many were deleted."""
        handled = await asyncio.gather(*(self._handle(m) for m in await self.receive()))
        return sum(handled)

    async def _handle(self, message: dict[str, Any]) -> bool:
        objects = objects_in(message.get("Body", ""))
        if objects is None:
            log.warning("b2b intake: unreadable message %s left for the dead-letter queue", message.get("MessageId"))
            return False
        for found in objects:
            partner = partner_of(found.key)
            if partner is None and found.key.startswith(INBOUND_PREFIX):
                log.warning("b2b intake: %s names no partner folder; left for the dead-letter queue", found.key)
                return False
            if partner is not None:
                try:
                    await self.start_batch(partner, found)
                except RPCError as error:
                    log.warning("b2b intake: starting a batch for %s failed (%s); will retry", found.key, error)
                    # Again in a few seconds, not after the queue's visibility timeout.
                    await self.visible_in(message, RETRY_VISIBILITY_SECONDS)
                    return False
        await self.delete(message)
        return True

    async def start_batch(self, partner_id: str, found: InboundObject) -> str:
        """Start the object's batch workflow unless it exists; return the batch id."""
        batch_id = batch_id_for(partner_id, found.key, found.etag)
        file = BatchFile(
            partner_id,
            batch_id,
            found.bucket,
            found.key,
            found.etag,
            self._settings.chunk_size,
            self._settings.max_in_flight,
        )
        with suppress(WorkflowAlreadyStartedError):  # this object version's batch already ran
            await self._start(file)
        return batch_id

    async def _start(self, file: BatchFile) -> None:
        partner_id, batch_id = file.partner_id, file.batch_id
        await self._client.start_workflow(
            B2BBatchWorkflow.run,
            BatchRun(file),
            id=batch_workflow_id(partner_id, batch_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.PIPELINE, "b2b"),
                    SearchAttributePair(search_attributes.BUSINESS_KEY, f"{partner_id}/batch/{batch_id}"),
                ]
            ),
        )


def intake_for(client: Client, settings: Settings, deps: ActivityDeps) -> B2BIntake | None:
    """The worker process's intake (None when ``STEPWISE_B2B__INTAKE_ENABLED`` is false)."""
    if not settings.b2b.intake_enabled:
        return None
    return B2BIntake(client, deps.aws, deps.resources, settings.worker.task_queue, settings.b2b)
