"""The booking API and CLI over real Temporal, Postgres and the emulators."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from typing import Any

import httpx
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from tests.e2e.booking_support import World, new_flight
from tests.support.processes import stack_env, stepwise
from worker.services.booking import workflow_id
from worker.settings import Settings
from workflows.booking.workflow import BookingWorkflow


def _body(flight: str, request_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "customer_id": "cust-7",
        "flight_id": flight,
        "amount": "120.00",
        "currency": "EUR",
        "payment_token": "tok_visa",
        **overrides,
    }


async def test_same_request_id_through_api_and_cli_is_one_workflow_and_one_charge(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    request_id = f"dup-{flight}"
    async with stepwise_worker(dev_env.client):
        first = await api.post("/bookings", json=_body(flight, request_id))
        second = await api.post("/bookings", json=_body(flight, request_id))
        cli = await asyncio.to_thread(
            stepwise,
            *("booking", "start", "--flight", flight, "--customer", "cust-7", "--amount", "120.00"),
            *("--currency", "EUR", "--payment-token", "tok_visa", "--request-id", request_id, "--wait", "--json"),
            env=stack_env(dev_env, settings),
        )
        await dev_env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(request_id)).result()
        status = await api.get(f"/bookings/{request_id}")

    assert first.status_code == 202
    assert first.json()["created"] is True
    assert first.headers["Location"].endswith(f"/bookings/{request_id}")
    assert second.status_code == 202
    assert second.json()["created"] is False
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert printed["status"] == "CONFIRMED"
    assert printed["reference"].startswith("SW-")
    assert status.json()["status"] == "CONFIRMED"
    assert status.json()["completed_steps"] == [
        "reserve_seats",
        "reserve_booking",
        "collect_payment",
        "confirm_booking",
        "notify",
    ]
    executions = [e async for e in dev_env.client.list_workflows(f"WorkflowId = '{workflow_id(request_id)}'")]
    assert len(executions) == 1
    assert len(world.charges(request_id)) == 1
    assert await world.capacity(flight) == 4


async def test_a_reused_request_id_with_different_content_is_a_conflict(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    async with stepwise_worker(dev_env.client):
        assert (await api.post("/bookings", json=_body(flight, f"c-{flight}"))).status_code == 202
        conflict = await api.post("/bookings", json=_body(flight, f"c-{flight}", amount="99.00"))
    assert conflict.status_code == 409
    assert "different booking" in conflict.json()["detail"]


async def test_validation_errors_name_the_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/bookings", json=_body("FL-100", "v-1", amount="-5", currency="euro", payment_token=""))
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"amount", "currency", "payment_token"}
    missing = await api.post("/bookings", json={"customer_id": "x"})
    assert {e["field"] for e in missing.json()["errors"]} >= {"flight_id", "amount", "currency", "payment_token"}


async def test_unknown_bookings_are_404_and_calls_need_a_token(api: httpx.AsyncClient) -> None:
    assert (await api.get("/bookings/no-such-booking")).status_code == 404
    assert (await api.post("/bookings/no-such-booking/cancel", json={})).status_code == 404
    anonymous = await api.get("/bookings/no-such-booking", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = await api.get("/bookings/x", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


async def test_cancel_after_confirmation_is_409_with_the_reason(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    request_id = f"late-{flight}"
    async with stepwise_worker(dev_env.client):
        await api.post("/bookings", json=_body(flight, request_id))
        await dev_env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(request_id)).result()
    response = await api.post(f"/bookings/{request_id}/cancel", json={"reason": "too late"})
    assert response.status_code == 409
    assert "can no longer be cancelled" in response.json()["detail"]


async def test_cancel_while_paying_refunds_and_releases(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    request_id = f"early-{flight}"
    async with stepwise_worker(dev_env.client):
        await api.post("/bookings", json=_body(flight, request_id, payment_token="tok_slow"))
        for _ in range(100):
            if (await api.get(f"/bookings/{request_id}")).json().get("current_step") == "collect_payment":
                break
            await asyncio.sleep(0.05)
        cancelled = await api.post(f"/bookings/{request_id}/cancel", json={"reason": "plans changed"})
        status = await _status_once_ended(dev_env, api, request_id)
    assert cancelled.status_code == 202
    assert status["status"] == "CANCELLED"
    assert status["failure_reason"] == "cancelled by customer: plans changed"
    assert status["payment"]["status"] == "REFUNDED"
    assert status["completed_steps"] == ["reserve_seats", "reserve_booking", "collect_payment"]
    assert status["compensations_run"] == ["refund_payment", "cancel_booking", "release_seats"]
    assert len(world.refunds(request_id)) == 1
    assert await world.capacity(flight) == 5


async def test_a_failed_booking_shows_what_ran_and_what_was_undone(
    dev_env: WorkflowEnvironment, world: World, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    flight = new_flight(world.resources, seats=5)
    request_id = f"declined-{flight}"
    async with stepwise_worker(dev_env.client):
        await api.post("/bookings", json=_body(flight, request_id, payment_token="tok_declined"))
        status = await _status_once_ended(dev_env, api, request_id)
    assert status["workflow_status"] == "FAILED"
    assert status["status"] == "CANCELLED"
    assert status["failed_step"] == "collect_payment"
    assert status["completed_steps"] == ["reserve_seats", "reserve_booking"]
    assert status["compensations_run"] == ["refund_payment", "cancel_booking", "release_seats"]
    assert await world.capacity(flight) == 5


async def _status_once_ended(dev_env: WorkflowEnvironment, api: httpx.AsyncClient, request_id: str) -> Any:
    """``GET /bookings/{id}`` once the saga has ended, whether it completed or failed."""
    with suppress(WorkflowFailureError):
        await dev_env.client.get_workflow_handle(workflow_id(request_id)).result()
    return (await api.get(f"/bookings/{request_id}")).json()


async def test_a_refusal_says_why_in_the_validators_own_words(api: httpx.AsyncClient) -> None:
    response = await api.post("/bookings", json=_body("FL-100", "v-2", amount="1e2", customer_id="c\n1"))
    assert response.status_code == 422
    assert sorted((e["field"], e["message"]) for e in response.json()["errors"]) == [
        ("amount", "'1e2' is not a positive amount such as 120.00 (at most 10 digits, then 2 decimals)"),
        ("customer_id", "must not contain control character U+000A"),
    ]
