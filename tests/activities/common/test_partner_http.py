"""Partner HTTP answers: a 429/503 with ``Retry-After`` sets when the next attempt runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.b2b.contracts import TransactionInput
from activities.common.partner_http import MAX_RETRY_AFTER, partner_request, retry_after_delay
from workflows.b2b.transaction import B2BTransactionWorkflow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", timedelta(seconds=3)),
        (" 120 ", timedelta(seconds=120)),
        (format_datetime(NOW + timedelta(seconds=42), usegmt=True), timedelta(seconds=42)),
        (format_datetime(NOW - timedelta(seconds=5), usegmt=True), timedelta(0)),
        ("999999", MAX_RETRY_AFTER),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date_and_capped(header: str | None, expected: timedelta | None) -> None:
    assert retry_after_delay(header, now=NOW) == expected


async def _throttle(http: httpx.AsyncClient, emulators: Any, times: int, retry_after: str) -> None:
    answer = await http.post(
        f"{emulators.state.url}/enrichment/control", json={"throttle_next": times, "retry_after": retry_after}
    )
    answer.raise_for_status()


async def test_a_throttled_answer_carries_the_partners_delay(
    emulators: Any, http: httpx.AsyncClient, partner_http: aiohttp.ClientSession
) -> None:
    await _throttle(http, emulators, 1, "3")
    body = {"partnerId": "acme", "transactionId": f"t-{uuid.uuid4()}", "fromUserId": "1", "toUserId": "2"}

    async def enrich() -> int:
        answer = await partner_request(
            partner_http,
            "POST",
            f"{emulators.state.url}/enrichment/v1/enrich",
            json=body,
            unavailable="EnrichmentUnavailable",
            partner="enrichment API",
        )
        return answer.status

    with pytest.raises(ApplicationError) as raised:
        await enrich()
    assert raised.value.type == "EnrichmentUnavailable"
    assert not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=3)
    assert await enrich() == 200


async def test_the_next_attempt_waits_as_long_as_the_partner_asked(
    dev_env: WorkflowEnvironment, stepwise_worker: Any, settings: Any, emulators: Any, http: httpx.AsyncClient
) -> None:
    """From history: the enrich step's second attempt starts 3 s after it was scheduled, not the policy's 1 s."""
    await _throttle(http, emulators, 1, "3")
    request = TransactionInput(f"p{uuid.uuid4().hex[:8]}", "ra-1", "Transaction made between user 12 and user 34.")
    async with stepwise_worker(dev_env.client):
        handle = await dev_env.client.start_workflow(
            B2BTransactionWorkflow.run,
            request,
            id=f"b2b-{request.partner_id}-{request.transaction_id}",
            task_queue=settings.worker.task_queue,
        )
        result = await handle.result()
    assert result.status == "STORED"
    events = [event async for event in handle.fetch_history_events()]
    scheduled = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "b2b_enrich_transaction"
    )
    started = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id == scheduled.event_id
    )
    assert started.activity_task_started_event_attributes.attempt == 2
    waited = started.event_time.ToDatetime() - scheduled.event_time.ToDatetime()
    assert timedelta(seconds=2.9) <= waited < timedelta(seconds=8), waited
