"""With Temporal or PostgreSQL down, the API answers 503 + Retry-After at once, naming which.

The API runs as `stepwise api` (its own lifespan and Temporal client) against a Temporal
dev server of the test's own, which the test then stops.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities.common.resources import Resources
from tests.support.api_process import api_env, operator_client, own_temporal_server, running_api
from worker.devstack.processes import free_port
from worker.settings import Settings

BOOKING = {
    "customer_id": "cust-1",
    "flight_id": "FL-100",
    "amount": "120.00",
    "currency": "EUR",
    "payment_token": "tok_visa",
}

ROUTES_THAT_NEED_TEMPORAL: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/attention", None),
    ("GET", "/reconciliations/recon-nobody-r1", None),
    ("POST", "/bookings", BOOKING),
    ("GET", "/bookings/no-such-booking", None),
    ("POST", "/workflows/booking-x/decisions", {"step": "reserve_seat", "action": "retry", "operator": "ops"}),
    ("POST", "/reconciliations", {"client_id": "acme", "baseline": "v1", "candidate": "v2", "run": "r1"}),
]


def _answer(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.request(method, path, json=body)
    return response, time.monotonic() - started


def test_every_route_answers_503_within_two_seconds_while_temporal_is_down(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    with (
        own_temporal_server(tmp_path) as (address, temporal),
        running_api(api_env(settings, address), tmp_path) as api,
        operator_client(api) as client,
    ):
        assert client.get(f"/bookings/{uuid.uuid4()}").status_code == 404  # Temporal answers
        temporal.stop()
        answers = {path: _answer(client, method, path, body) for method, path, body in ROUTES_THAT_NEED_TEMPORAL}

    for path, (response, seconds) in answers.items():
        assert response.status_code == 503, (path, response.text)
        assert response.headers["Retry-After"] == str(settings.api.unavailable_retry_after_seconds), path
        assert response.json() == {"detail": f"Temporal at {address} is not reachable; retry later", "errors": []}
        assert seconds < 5, (path, seconds)  # the SDK retried for about 9 s before


def test_the_api_starts_while_temporal_is_down_and_answers_503(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    with running_api(api_env(settings, address), tmp_path) as api, operator_client(api) as client:
        response, seconds = _answer(client, "GET", "/attention", None)
        ready = client.get("/readyz")

    assert response.status_code == 503, response.text
    assert response.json()["detail"] == f"Temporal at {address} is not reachable; retry later"
    assert response.headers["Retry-After"]
    assert seconds < 5
    assert ready.status_code == 503


def test_a_route_answers_503_naming_postgres_while_it_is_down(
    settings: Settings, dev_env: Any, resources: Resources, tmp_path: Path
) -> None:
    closed_port = free_port()
    env = api_env(
        settings,
        dev_env.client.service_client.config.target_host,
        STEPWISE_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/stepwise",
    )
    with running_api(env, tmp_path) as api, operator_client(api) as client:
        response, seconds = _answer(client, "GET", "/bookings/no-such-booking", None)

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(settings.api.unavailable_retry_after_seconds)
    assert response.json() == {
        "detail": f"PostgreSQL at 127.0.0.1:{closed_port} is not reachable; retry later",
        "errors": [],
    }
    assert seconds < 5


def test_metrics_are_served_on_the_metrics_port_only(settings: Settings, dev_env: Any, tmp_path: Path) -> None:
    env = api_env(settings, dev_env.client.service_client.config.target_host)
    with running_api(env, tmp_path) as api:
        api.process.wait_for_port(int(api.metrics_url.split(":")[-1].split("/")[0]), timeout=10)
        on_api_port = httpx.get(f"{api.url}/metrics")
        on_metrics_port = httpx.get(api.metrics_url)

    assert on_api_port.status_code == 404
    assert on_metrics_port.status_code == 200
    assert "process_cpu_seconds_total" in on_metrics_port.text


@pytest.fixture(autouse=True)
def _api_port_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API processes must not inherit a developer's shell ports."""
    for name in ("STEPWISE_API__PORT", "STEPWISE_API__METRICS_PORT", "STEPWISE_API__HOST"):
        monkeypatch.delenv(name, raising=False)
