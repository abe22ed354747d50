"""The poller's payload consumer: long-polls ``poller-payloads`` and stores each page.

Runs inside the worker process (``STEPWISE_POLLER__CONSUMER_ENABLED``). A message is deleted
only after its page is stored (or found already stored). One that fails is made visible
again after a few seconds; on its last receive the queue's redrive policy allows, its task is
marked FailedToComplete, and SQS moves it to ``poller-payloads-dlq`` on the next receive.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.deps import ActivityDeps
from activities.common.resources import Resources
from activities.poller.processing import PageMessage, PageNotProcessed, PageProcessor, read_message
from worker.queue_poller import QueuePoller
from worker.settings import Settings

log = logging.getLogger("stepwise.poller")
RETRY_VISIBILITY_SECONDS = 2


class PayloadConsumer(QueuePoller):
    """Stores the pages the poller's jobs enqueue."""

    name = "poller-consumer"

    def __init__(self, aws: AwsClients, processor: PageProcessor, resources: Resources, wait_seconds: int) -> None:
        self._aws = aws
        self.queue = resources.poller_queue
        self._processor = processor
        self._resources = resources
        self.wait_seconds = wait_seconds
        self._max_receives = next(q.max_receive_count for q in resources.queues if q.name == resources.poller_queue)

    async def poll_once(self) -> int:
        """Receive up to 10 messages and process them concurrently; return how many were deleted."""
        messages = await self.receive(AttributeNames=["ApproximateReceiveCount"])
        handled = await asyncio.gather(*(self._handle(m) for m in messages))
        return sum(handled)

    async def _handle(self, message: dict[str, Any]) -> bool:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        page: PageMessage | None = None
        try:
            page = read_message(message)
            outcome = await self._processor.process(page)
        except Exception as error:
            reason = error.message if isinstance(error, ApplicationError) else str(error) or type(error).__name__
            if not isinstance(error, PageNotProcessed | ApplicationError):
                log.exception("poller consumer: unexpected error")
            last = receives >= self._max_receives
            log.warning(
                "poller consumer: message %s (receive %d of %d): %s",
                message.get("MessageId"),
                receives,
                self._max_receives,
                reason,
            )
            if last and page is not None:
                await self._processor.give_up(page, reason)
            # Visible again soon; after the last receive at once, so SQS moves it to the DLQ now.
            await self.visible_in(message, 0 if last else RETRY_VISIBILITY_SECONDS)
            return False
        log.debug("poller consumer: %s/%s %s", page.job_id, page.task_id, outcome)
        await self.delete(message)
        return True


def consumer_for(settings: Settings, deps: ActivityDeps) -> PayloadConsumer | None:
    """The worker process's consumer (None when ``STEPWISE_POLLER__CONSUMER_ENABLED`` is false)."""
    if not settings.poller.consumer_enabled:
        return None
    processor = PageProcessor(deps.aws, deps.sessions, deps.resources.poller_bucket)
    return PayloadConsumer(deps.aws, processor, deps.resources, settings.poller.consumer_wait_seconds)
