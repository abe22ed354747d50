"""The booking saga end to end on the embedded stack: real DynamoDB, Postgres, provider, SNS, SQS."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.booking.contracts import BookingResult
from tests.e2e.booking_support import World, booking_request, new_flight
from worker.services.booking import submit_booking, workflow_id
from worker.settings import Settings
from workflows.booking.workflow import BookingWorkflow


async def _book(env: WorkflowEnvironment, settings: Settings, request: Any) -> BookingResult | WorkflowFailureError:
    await submit_booking(env.client, settings.worker.task_queue, request)
    try:
        result = await env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(request.request_id)).result()
    except WorkflowFailureError as failure:
        return failure
    return result


async def test_happy_path_takes_one_seat_one_charge_and_sends_one_notification(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight)
    async with stepwise_worker(dev_env.client):
        result = await _book(dev_env, settings, request)

    assert isinstance(result, BookingResult)
    assert result.status == "CONFIRMED"
    assert await world.capacity(flight) == 4
    assert await world.reservation_status(request.request_id, flight) == "HELD"
    booking = await world.booking(request.request_id)
    assert booking is not None
    assert booking.status == "CONFIRMED"
    assert booking.reference == result.reference
    assert booking.reference is not None and booking.reference.startswith("SW-")
    assert len(world.charges(request.request_id)) == 1
    payment = await world.payment(request.request_id)
    assert payment is not None and payment.status == "CHARGED"
    notifications = await world.notifications.about(request.request_id)
    assert [n["status"] for n in notifications] == ["CONFIRMED"]
    assert await world.dead_letters.about(request.request_id) == []


async def test_a_full_flight_fails_with_flight_full_and_charges_nothing(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=0)
    request = booking_request(flight)
    async with stepwise_worker(dev_env.client):
        failure = await _book(dev_env, settings, request)

    assert isinstance(failure, WorkflowFailureError)
    assert isinstance(failure.cause, ApplicationError), (repr(failure), repr(failure.cause), repr(failure.__cause__))
    assert failure.cause.type == "FlightFull"
    assert await world.capacity(flight) == 0
    booking = await world.booking(request.request_id)
    assert booking is not None
    assert (booking.status, booking.failed_step) == ("CANCELLED", "reserve_seats")
    assert "FlightFull" in (booking.failure_reason or "")
    assert world.charges(request.request_id) == []
    [story] = await world.dead_letters.about(request.request_id)
    assert story["failed_step"] == "reserve_seats"
    assert [c["step"] for c in story["compensations"]] == ["release_seats"]
    assert story["request"]["payment_token"] == "<redacted>"
    assert [n["status"] for n in await world.notifications.about(request.request_id)] == ["CANCELLED"]


async def test_a_declined_payment_refunds_nothing_and_releases_the_seat(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight, token="tok_declined")
    async with stepwise_worker(dev_env.client):
        failure = await _book(dev_env, settings, request)

    assert isinstance(failure, WorkflowFailureError)
    assert isinstance(failure.cause, ApplicationError)
    assert failure.cause.type == "PaymentDeclined"
    assert await world.capacity(flight) == 5
    assert await world.reservation_status(request.request_id, flight) == "RELEASED"
    booking = await world.booking(request.request_id)
    assert booking is not None
    assert (booking.status, booking.failed_step) == ("CANCELLED", "collect_payment")
    assert world.charges(request.request_id) == []
    assert world.refunds(request.request_id) == []
    [story] = await world.dead_letters.about(request.request_id)
    assert [c["step"] for c in story["compensations"]] == ["refund_payment", "cancel_booking", "release_seats"]


async def test_a_flaky_provider_is_retried_under_one_idempotency_key(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight, token="tok_flaky")
    async with stepwise_worker(dev_env.client):
        result = await _book(dev_env, settings, request)

    assert isinstance(result, BookingResult)
    assert result.status == "CONFIRMED"
    assert len(world.charges(request.request_id)) == 1
    assert world.payments.attempts[f"booking:{request.request_id}:charge"] == 3


async def test_last_seats_go_to_exactly_three_of_ten_concurrent_bookings(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=3)
    requests = [booking_request(flight) for _ in range(10)]
    async with stepwise_worker(dev_env.client):
        outcomes = await asyncio.gather(*(_book(dev_env, settings, r) for r in requests))

    confirmed = [o for o in outcomes if isinstance(o, BookingResult) and o.status == "CONFIRMED"]
    full = [
        o
        for o in outcomes
        if isinstance(o, WorkflowFailureError)
        and isinstance(o.cause, ApplicationError)
        and o.cause.type == "FlightFull"
    ]
    assert (len(confirmed), len(full)) == (3, 7)
    assert await world.capacity(flight) == 0
    charged = [r for r in requests if world.charges(r.request_id)]
    assert len(charged) == 3


@pytest.mark.parametrize(
    ("failing_step", "compensations"),
    [
        ("reserve_seats", ["release_seats"]),
        ("reserve_booking", ["cancel_booking", "release_seats"]),
        ("collect_payment", ["refund_payment", "cancel_booking", "release_seats"]),
        ("confirm_booking", ["refund_payment", "cancel_booking", "release_seats"]),
    ],
)
async def test_a_step_that_fails_after_its_side_effect_is_undone_in_reverse(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    world: World,
    stepwise_worker: Any,
    failing_step: str,
    compensations: list[str],
) -> None:
    # The step really runs, then reports failure: the hardest case for compensation,
    # because there is something to undo although the saga saw no success.
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight)
    async with stepwise_worker(dev_env.client, replace={failing_step: fails_after_running}):
        failure = await _book(dev_env, settings, request)

    assert isinstance(failure, WorkflowFailureError)
    assert isinstance(failure.cause, ApplicationError)
    assert failure.cause.type == "InjectedFailure"
    [story] = await world.dead_letters.about(request.request_id)
    assert story["failed_step"] == failing_step
    assert [c["step"] for c in story["compensations"]] == compensations
    assert all(c["ok"] for c in story["compensations"])
    assert await world.capacity(flight) == 5
    booking = await world.booking(request.request_id)
    assert booking is not None
    assert (booking.status, booking.failed_step, booking.reference) == ("CANCELLED", failing_step, None)
    assert "InjectedFailure" in (booking.failure_reason or "")
    charged = world.charges(request.request_id)
    assert len(world.refunds(request.request_id)) == len(charged)  # refund iff charged
    assert len(charged) == (1 if failing_step in ("collect_payment", "confirm_booking") else 0)
    assert [n["status"] for n in await world.notifications.about(request.request_id)] == ["CANCELLED"]


async def test_a_failed_confirmation_notification_keeps_the_booking_and_dead_letters_it(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any
) -> None:
    flight = new_flight(world.resources, seats=5)
    request = booking_request(flight)
    async with stepwise_worker(dev_env.client, replace={"notify_customer": fails_before_running}):
        result = await _book(dev_env, settings, request)

    assert isinstance(result, BookingResult)
    assert result.status == "CONFIRMED"
    assert await world.capacity(flight) == 4
    [story] = await world.dead_letters.about(request.request_id)
    assert (story["failed_step"], story["compensations"], story["status"]) == ("notify", [], "CONFIRMED")


def fails_after_running(real: Any) -> Any:
    """The real activity, followed by a non-retryable failure."""

    async def wrapper(argument: Any) -> Any:
        await real(argument)
        raise ApplicationError("injected after the side effect", type="InjectedFailure", non_retryable=True)

    return as_activity_like(real, wrapper)


def fails_before_running(real: Any) -> Any:
    """A non-retryable failure in place of the real activity."""

    async def wrapper(argument: Any) -> Any:
        raise ApplicationError("injected", type="InjectedFailure", non_retryable=True)

    return as_activity_like(real, wrapper)


def as_activity_like(real: Any, wrapper: Any) -> Any:
    """Register ``wrapper`` under the real activity's name and types."""
    import typing

    from temporalio import activity

    from tests.support.mocks import activity_name

    hints = typing.get_type_hints(real)
    argument_type = next(value for key, value in hints.items() if key != "return")
    wrapper.__annotations__ = {"argument": argument_type, "return": hints["return"]}
    return activity.defn(name=activity_name(real))(wrapper)
