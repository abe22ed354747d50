"""BookingWorkflow's logic on the time-skipping server: the article's retry policy in history,
compensation order, customer cancellation, and the progress query."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.e2e.booking_support import booking_request
from tests.workflows.booking_mocks import MockBookingActivities, reservation_error
from workflows.booking import BookingResult, BookingWorkflow, CancelRequest


def _scheduled(history: History, activity_type: str) -> list[object]:
    return [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity_type
    ]


def _attempts(history: History, scheduled_event_ids: set[int]) -> list[int]:
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled_event_ids
    ]


async def _start(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle[BookingWorkflow, BookingResult]:
    request = booking_request("FL-100")
    return await env.client.start_workflow(
        BookingWorkflow.run, request, id=f"booking-{request.request_id}", task_queue=task_queue
    )


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

    [scheduled] = _scheduled(history, "reserve_booking")
    assert scheduled.start_to_close_timeout.ToTimedelta() == timedelta(seconds=5)  # type: ignore[attr-defined]
    retry = scheduled.retry_policy  # type: ignore[attr-defined]
    assert retry.initial_interval.ToTimedelta() == timedelta(seconds=1)
    assert retry.backoff_coefficient == 2.0
    assert retry.maximum_attempts == 2
    reserve_ids = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "reserve_booking"
    }
    assert _attempts(history, reserve_ids) == [2]  # the last attempt, recorded once
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
    timed_out = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT]
    assert len(timed_out) == 1
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
