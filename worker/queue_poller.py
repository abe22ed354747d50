"""A loop that long-polls one SQS queue inside the worker process, tied to the process's life.

The B2B intake and the poller's payload consumer are both one of these: every worker of the
fleet polls the same queue and SQS hands each message to one of them.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients

log = logging.getLogger("stepwise.queues")


class QueuePoller(ABC):
    """Subclasses say which queue (``queue``; ``name`` for logs) and what one receive does
    (:meth:`poll_once`), and set ``_aws``."""

    name = "queue"
    wait_seconds = 10
    """The long-poll wait of each receive: shutdown waits for the receive in flight."""
    queue = ""
    """The queue's declared name (with the deployment's prefix)."""
    _aws: AwsClients

    async def queue_url(self) -> str:
        """The queue's URL (looked up once)."""
        return await self._aws.queue_url(self.queue)

    async def receive(self, **options: Any) -> list[dict[str, Any]]:
        """Up to ten messages, waiting up to ``wait_seconds`` for the first."""
        response = await self._aws.call(
            "sqs",
            "receive_message",
            QueueUrl=await self.queue_url(),
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_seconds,
            **options,
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def delete(self, message: dict[str, Any]) -> None:
        """Done with the message: SQS will not deliver it again."""
        await self._aws.call(
            "sqs", "delete_message", QueueUrl=await self.queue_url(), ReceiptHandle=message["ReceiptHandle"]
        )

    async def visible_in(self, message: dict[str, Any], seconds: int) -> None:
        """Deliver the message again after ``seconds`` rather than the queue's visibility timeout
        (0: at once; a message past its last receive then goes to the dead-letter queue)."""
        try:
            await self._aws.call(
                "sqs",
                "change_message_visibility",
                QueueUrl=await self.queue_url(),
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=seconds,
            )
        except ApplicationError as error:
            log.warning("%s: %s", self.name, error.message)

    def running(self) -> AbstractAsyncContextManager[None]:
        """Poll in the background while the block runs; on exit, finish the current receive."""
        return polling([self])

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; a failing receive is logged and retried after a pause."""
        log.info("%s polling", self.name)
        while not stop.is_set():
            try:
                await self.poll_once()
            except ApplicationError as error:
                log.warning("%s: %s", self.name, error.message)
                await pause(stop, 5)

    @abstractmethod
    async def poll_once(self) -> int:
        """Receive once and handle what came; return how many messages were done with."""


@asynccontextmanager
async def polling(pollers: Sequence[QueuePoller]) -> AsyncIterator[None]:
    """Run ``pollers`` in the background while the block runs; on exit stop them all at once.

    Each finishes the receive in flight rather than abandoning it (messages it returns would
    otherwise stay invisible for the queue's visibility timeout). Stopping them together keeps
    a process's shutdown to one long-poll wait, however many queues it polls.
    """
    stop = asyncio.Event()
    tasks = {asyncio.create_task(poller.run(stop), name=poller.name): poller for poller in pollers}
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(poller.wait_seconds for poller in pollers) + 15)
            for task in late:
                task.cancel()
                log.warning("%s did not stop in time; unhandled messages will be redelivered", tasks[task].name)
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for task, outcome in zip(tasks, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    log.error("%s stopped with an error: %r", tasks[task].name, outcome)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` unless ``stop`` is set first."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
