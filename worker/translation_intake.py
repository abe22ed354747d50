"""The translation intake: S3 ObjectCreated events on the translation-intake queue -> projects.

Runs inside the worker process (``STEPWISE_TRANSLATION__INTAKE_ENABLED``), as the B2B intake
does. Every file written under ``translation-inbound/<customer>/<project>/`` signals-with-start
the project's workflow; the workflow reads the folder once files stop arriving, so a
project uploaded file by file by any S3 client becomes one project. A message is deleted
only after Temporal acknowledged the signal; one that names no valid customer and project
is left for the queue's dead-letter queue, where an operator finds it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from activities.common.deps import ActivityDeps
from activities.translation.contracts import INBOUND_PREFIX, valid_customer, valid_project
from worker.intake import RETRY_VISIBILITY_SECONDS, objects_in
from worker.queue_poller import QueuePoller
from worker.services.translation import project_request, signal_project
from worker.settings import Settings

log = logging.getLogger("stepwise.translation_intake")


def project_of(key: str) -> tuple[str, str] | None:
    """``(customer, project)`` of a key ``translation-inbound/<customer>/<project>/<file...>``, if valid."""
    if not key.startswith(INBOUND_PREFIX):
        return None
    parts = key[len(INBOUND_PREFIX) :].split("/", 2)
    if len(parts) != 3 or not parts[2] or parts[2].endswith("/"):
        return None
    customer, project = parts[0], parts[1]
    if not valid_customer(customer) or not valid_project(project):
        return None
    return customer, project


class TranslationIntake(QueuePoller):
    """Long-polls the translation intake queue and signals project workflows."""

    name = "translation-intake"

    def __init__(self, client: Client, settings: Settings, deps: ActivityDeps) -> None:
        self._client = client
        self._settings = settings
        self._aws = deps.aws
        self._resources = deps.resources
        self.queue = deps.resources.translation_intake_queue
        self.wait_seconds = settings.translation.intake_wait_seconds

    async def poll_once(self) -> int:
        """Receive up to 10 messages and handle them; return how many were deleted."""
        handled = await asyncio.gather(*(self._handle(m) for m in await self.receive()))
        return sum(handled)

    async def _handle(self, message: dict[str, Any]) -> bool:
        objects = objects_in(message.get("Body", ""))
        if objects is None:
            log.warning(
                "translation intake: unreadable message %s left for the dead-letter queue", message.get("MessageId")
            )
            return False
        for found in objects:
            if not found.key.startswith(INBOUND_PREFIX) or found.key.endswith("/"):
                continue
            named = project_of(found.key)
            if named is None:
                log.warning(
                    "translation intake: %s names no valid customer/project; left for the dead-letter queue", found.key
                )
                return False
            request = project_request(self._settings, self._resources, named[0], named[1], owner=None)
            try:
                await signal_project(self._client, request, found.key, self._settings.worker.task_queue)
            except RPCError as error:
                log.warning(
                    "translation intake: signalling the project of %s failed (%s); will retry", found.key, error
                )
                await self.visible_in(message, RETRY_VISIBILITY_SECONDS)
                return False
        await self.delete(message)
        return True


def translation_intake_for(client: Client, settings: Settings, deps: ActivityDeps) -> TranslationIntake | None:
    """The worker process's translation intake (None when ``STEPWISE_TRANSLATION__INTAKE_ENABLED`` is false)."""
    if not settings.translation.intake_enabled:
        return None
    return TranslationIntake(client, settings, deps)
