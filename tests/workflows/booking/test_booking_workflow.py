"""BookingWorkflow's logic on the time-skipping server: the article's retry policy in history,
compensation order, customer cancellation, and the progress query."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.booking.contracts import BookingResult, CancelRequest
from tests.e2e.booking_support import booking_request
from tests.workflows.booking.mocks import MockBookingActivities, reservation_error
from workflows.booking.policies import RESERVE_BOOKING
from workflows.booking.workflow import BookingWorkflow


def _local_activity_markers(history: History, activity_type: str) -> list[tuple[dict[str, Any], Failure | None]]:
    """(marker data, failure) of each local activity of ``activity_type``: its final attempt."""
    markers = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        attributes = event.marker_recorded_event_attributes
        if attributes.marker_name != "core_local_activity":
            continue
        data = json.loads(attributes.details["data"].payloads[0].data)
        if data["activity_type"] == activity_type:
            markers.append((data, attributes.failure if attributes.HasField("failure") else None))
    return markers


def _failure_chain(failure: Failure) -> list[Failure]:
    chain = [failure]
    while chain[-1].HasField("cause"):
        chain.append(chain[-1].cause)
    return chain


async def _start(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle[BookingWorkflow, BookingResult]:
    request = booking_request("FL-100")
    return await env.client.start_workflow(
        BookingWorkflow.run, request, id=f"booking-{request.request_id}", task_queue=task_queue
    )


def test_reserve_booking_declares_the_articles_policy() -> None:
    # TimeoutSeconds 5; Retry BookingReservationException, IntervalSeconds 1, BackoffRate 2, MaxAttempts 2.
    assert RESERVE_BOOKING.local  # a short Postgres insert: no task-queue round trip
    assert RESERVE_BOOKING.start_to_close == timedelta(seconds=5)
    assert RESERVE_BOOKING.retry.initial_interval == timedelta(seconds=1)
    assert RESERVE_BOOKING.retry.backoff_coefficient == 2.0
    assert RESERVE_BOOKING.retry.maximum_attempts == 2


async def test_reserve_booking_follows_the_articles_retry_policy(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockBookingActivities(failures={"reserve_booking": reservation_error()})
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[BookingWorkflow], activities=mocks.activities()
    ):
        handle = await _start(time_env, task_queue)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert isinstance(failure.value.cause, ApplicationError)
        assert failure.value.cause.type == "BookingReservationError"
        history = await handle.fetch_history()

    # A local activity's attempts are recorded once, in the marker of its final attempt.
    [(marker, marker_failure)] = _local_activity_markers(history, "reserve_booking")
    assert marker["attempt"] == 2
    assert marker_failure is not None
    assert "BookingReservationError" in [f.application_failure_info.type for f in _failure_chain(marker_failure)]
    first, second = mocks.started_at["reserve_booking"]
    assert second - first >= 1.0  # the 1 s interval between the two attempts
    assert mocks.calls.count("reserve_booking") == 2
    assert mocks.calls[mocks.calls.index("reserve_booking") + 2 :][:2] == ["cancel_booking", "release_seats"]


async def test_a_reservation_slower_than_five_seconds_times_out_and_is_tried_twice(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockBookingActivities(delays={"reserve_booking": 6.0})
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[BookingWorkflow], activities=mocks.activities()
    ):
        handle = await _start(time_env, task_queue)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert isinstance(failure.value.cause, ApplicationError)
        assert failure.value.cause.type == "StepTimedOut"
        history = await handle.fetch_history()
    [(marker, marker_failure)] = _local_activity_markers(history, "reserve_booking")
    assert marker["attempt"] == 2
    assert marker_failure is not None
    timeouts = [
        f.timeout_failure_info.timeout_type
        for f in _failure_chain(marker_failure)
        if f.HasField("timeout_failure_info")
    ]
    assert timeouts == [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]
    first, second = mocks.started_at["reserve_booking"]
    assert second - first >= 6.0  # the first attempt's 5 s, then the 1 s interval
    assert mocks.calls.count("reserve_booking") == 2


async def test_compensations_run_in_reverse_and_the_story_goes_to_the_dlq(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockBookingActivities(failures={"confirm_booking": ApplicationError("no", type="X", non_retryable=True)})
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[BookingWorkflow], activities=mocks.activities()
    ):
        handle = await _start(time_env, task_queue)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        progress = await handle.query(BookingWorkflow.progress)
    assert mocks.calls == [
        "reserve_seats",
        "reserve_booking",
        "collect_payment",
        "confirm_booking",
        "refund_payment",
        "cancel_booking",
        "release_seats",
        "notify_customer",
        "send_to_dead_letter_queue",
    ]
    assert progress.status == "CANCELLED"
    assert progress.failed_step == "confirm_booking"
    assert progress.completed_steps == ["reserve_seats", "reserve_booking", "collect_payment"]
    assert progress.compensations_run == ["refund_payment", "cancel_booking", "release_seats"]


async def test_customer_cancellation_before_confirmation_compensates(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockBookingActivities(delays={"collect_payment": 2.0})
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[BookingWorkflow], activities=mocks.activities()
    ):
        handle = await _start(time_env, task_queue)
        while (await handle.query(BookingWorkflow.progress)).current_step != "collect_payment":
            await time_env.sleep(0.1)
        accepted = await handle.execute_update(BookingWorkflow.request_cancel, CancelRequest("changed my mind"))
        result = await handle.result()
    assert accepted.current_step == "collect_payment"
    assert result.status == "CANCELLED"
    assert result.failure_reason == "cancelled by customer: changed my mind"
    assert result.compensations_run == ["refund_payment", "cancel_booking", "release_seats"]
    assert "confirm_booking" not in mocks.calls


async def test_cancellation_after_confirmation_is_rejected_with_a_clear_message(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    # A failed confirmation notification keeps the saga running (confirmed) while its
    # dead letter is written: the moment to try a late cancellation.
    mocks = MockBookingActivities(
        failures={"notify_customer": ApplicationError("sns down", type="X", non_retryable=True)},
        delays={"send_to_dead_letter_queue": 3.0},
    )
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[BookingWorkflow], activities=mocks.activities()
    ):
        handle = await _start(time_env, task_queue)
        while (await handle.query(BookingWorkflow.progress)).status != "CONFIRMED":
            await asyncio.sleep(0.1)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(BookingWorkflow.request_cancel, CancelRequest())
        assert isinstance(rejected.value.cause, ApplicationError)
        assert "can no longer be cancelled: it is CONFIRMED" in rejected.value.cause.message
        await handle.signal(BookingWorkflow.cancel, CancelRequest())  # ignored, not applied
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.status == "CONFIRMED"
    assert result.compensations_run == []
    updates = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert updates == []  # a rejected update leaves no trace in history
