"""An unknown flight or a currency that is not ISO 4217 is refused before anything starts.

The same check guards the API (422 naming the field) and the CLI (one line, exit 2); the
proof that nothing started is Temporal's: no execution exists under the booking's id.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.common.resources import Resources
from tests.support.processes import stack_env, stepwise
from worker.services.booking import workflow_id
from worker.settings import Settings

REFUSED = [
    ({"flight_id": "NOPE-999"}, "flight_id", "no flight 'NOPE-999'"),
    ({"return_flight_id": "NOPE-998"}, "return_flight_id", "no flight 'NOPE-998'"),
    ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code"),
]


async def _never_started(env: WorkflowEnvironment, request_id: str) -> None:
    with pytest.raises(RPCError) as missing:
        await env.client.get_workflow_handle(workflow_id(request_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


@pytest.mark.parametrize(("change", "field", "message"), REFUSED)
async def test_the_api_refuses_with_422_naming_the_field_and_starts_nothing(
    api: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    resources: Resources,
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    request_id = f"refused-{uuid.uuid4().hex[:10]}"
    body = {
        "request_id": request_id,
        "customer_id": "cust-1",
        "flight_id": "FL-100",
        "amount": "120.00",
        "currency": "EUR",
        "payment_token": "tok_visa",
        **change,
    }

    response = await api.post("/bookings", json=body)

    assert response.status_code == 422, response.text
    assert response.json() == {"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]}
    await _never_started(dev_env, request_id)


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--flight", "NOPE-999"], "stepwise: refused, nothing started: flight_id: no flight 'NOPE-999'\n"),
        (["--currency", "XYZ"], "stepwise: Invalid value for --currency: 'XYZ' is not an ISO 4217 currency code\n"),
    ],
)
async def test_the_cli_refuses_with_exit_2_and_starts_nothing(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, options: list[str], line: str
) -> None:
    request_id = f"refused-{uuid.uuid4().hex[:10]}"
    values = {"--flight": "FL-100", "--customer": "cust-1", "--amount": "120.00", "--currency": "EUR"}
    values.update(zip(options[::2], options[1::2], strict=True))
    args = ["booking", "start", "--request-id", request_id, "--wait", *[v for pair in values.items() for v in pair]]

    result = await asyncio.to_thread(stepwise, *args, env=stack_env(dev_env, settings))

    assert result.returncode == 2, result.stderr
    assert result.stderr == line
    await _never_started(dev_env, request_id)
