"""The documents intake: S3 ObjectCreated events on the documents-intake queue -> shipments.

Runs inside the worker process (``STEPWISE_DOCUMENTS__INTAKE_ENABLED``), as the translation
intake does. Every object written as ``documents-inbound/<shipment>/<type>.<ext>`` in the
documents bucket signals-with-start the shipment's workflow (``shipment-<id>``) with a
:class:`DocumentArrival` carrying the object's ETag (its identity: the same bytes twice change
nothing) and size; the workflow decides whether it takes it. A message is deleted only after
Temporal acknowledged every signal; a key that is not a shipment document (a nested folder, no
extension, an invalid shipment id) is logged and its event deleted: nothing would ever take it,
and the object stays where it was written.

:func:`shipment_input` and :func:`signal_shipment` are shared with the API and the CLI, so an
upload through them is the same arrival as a drop by any S3 client.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.common import search_attributes
from activities.common.contracts import AttentionPolicy
from activities.common.deps import ActivityDeps
from activities.documents.contracts import (
    ARRIVAL_SIGNAL,
    DOCUMENT_TYPES,
    INBOUND_PREFIX,
    PIPELINE,
    DocumentArrival,
    ShipmentInput,
    parse_inbound_key,
    shipment_workflow_id,
)
from worker.intake import RETRY_VISIBILITY_SECONDS, InboundObject, objects_in
from worker.queue_poller import QueuePoller
from worker.settings import Settings
from workflows.documents.shipment import ShipmentWorkflow

log = logging.getLogger("stepwise.documents_intake")

PARTNER_MEMO = "partner"
"""Memo key: the partner whose upload started the shipment (absent for a plain S3 drop)."""


def _seconds(hours: float | None) -> float | None:
    return None if hours is None else hours * 3600.0


def shipment_input(settings: Settings, shipment_id: str) -> ShipmentInput:
    """The workflow input of a shipment, from the settings in force now (read at its first arrival)."""
    documents = settings.documents
    return ShipmentInput(
        shipment_id=shipment_id,
        required_types=list(DOCUMENT_TYPES),
        confidence_threshold=documents.confidence_threshold,
        max_document_bytes=documents.max_document_bytes,
        analysis_poll_seconds=documents.analysis_poll_seconds,
        max_analysis_minutes=documents.max_analysis_minutes,
        missing=AttentionPolicy(
            remind_after_seconds=_seconds(documents.missing_remind_hours),
            escalate_after_seconds=_seconds(documents.missing_escalate_hours),
        ),
        review=AttentionPolicy(
            remind_after_seconds=_seconds(documents.review_remind_hours),
            escalate_after_seconds=_seconds(documents.review_escalate_hours),
        ),
    )


async def signal_shipment(client: Client, shipment: ShipmentInput, arrival: DocumentArrival, task_queue: str) -> bool:
    """Deliver ``arrival`` to its shipment's workflow, starting it if needed.

    True when delivered. False when the shipment is complete: a completed shipment is not
    started again (its documents were consolidated), so the arrival is not taken; the caller
    says so. A failed shipment starts again with the arrival.
    """
    try:
        await client.start_workflow(
            ShipmentWorkflow.run,
            shipment,
            id=shipment_workflow_id(shipment.shipment_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            start_signal=ARRIVAL_SIGNAL,
            start_signal_args=[arrival],
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.PIPELINE, PIPELINE),
                    SearchAttributePair(search_attributes.BUSINESS_KEY, shipment.shipment_id),
                ]
            ),
            memo={PARTNER_MEMO: arrival.submitted_by} if arrival.submitted_by else None,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


def arrival_of(found: InboundObject) -> DocumentArrival | None:
    """The arrival an object under ``documents-inbound/`` is, or None when it is not a shipment document."""
    parsed = parse_inbound_key(found.key)
    if parsed is None or not found.etag:
        return None
    shipment_id, doc_type, extension = parsed
    return DocumentArrival(shipment_id, doc_type, found.key, found.etag, found.size, extension=extension)


class DocumentsIntake(QueuePoller):
    """Long-polls the documents intake queue and signals shipment workflows."""

    name = "documents-intake"

    def __init__(self, client: Client, settings: Settings, deps: ActivityDeps) -> None:
        self._client = client
        self._settings = settings
        self._aws = deps.aws
        self._bucket = deps.resources.documents_bucket
        self.queue = deps.resources.documents_intake_queue
        self.wait_seconds = settings.documents.intake_wait_seconds

    async def poll_once(self) -> int:
        """Receive up to 10 messages and handle them; return how many were deleted."""
        handled = await asyncio.gather(*(self._handle(m) for m in await self.receive()))
        return sum(handled)

    async def _handle(self, message: dict[str, Any]) -> bool:
        objects = objects_in(message.get("Body", ""))
        if objects is None:
            log.warning(
                "documents intake: unreadable message %s left for the dead-letter queue", message.get("MessageId")
            )
            return False
        for found in objects:
            if found.bucket != self._bucket or not found.key.startswith(INBOUND_PREFIX) or found.key.endswith("/"):
                continue
            arrival = arrival_of(found)
            if arrival is None:
                log.warning(
                    "documents intake: %s is not a shipment document (%s<shipment>/<type>.<ext>); event deleted",
                    found.key,
                    INBOUND_PREFIX,
                )
                continue
            shipment = shipment_input(self._settings, arrival.shipment_id)
            try:
                delivered = await signal_shipment(self._client, shipment, arrival, self._settings.worker.task_queue)
            except RPCError as error:
                log.warning("documents intake: signalling the shipment of %s failed (%s); will retry", found.key, error)
                await self.visible_in(message, RETRY_VISIBILITY_SECONDS)
                return False
            if not delivered:
                log.warning(
                    "documents intake: shipment %s is complete; %s (ETag %s) was not taken",
                    arrival.shipment_id,
                    found.key,
                    arrival.etag,
                )
        await self.delete(message)
        return True


def documents_intake_for(client: Client, settings: Settings, deps: ActivityDeps) -> DocumentsIntake | None:
    """The worker process's documents intake (None when ``STEPWISE_DOCUMENTS__INTAKE_ENABLED`` is false)."""
    if not settings.documents.intake_enabled:
        return None
    return DocumentsIntake(client, settings, deps)
