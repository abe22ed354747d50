"""Attention delays: the API refuses one no workflow timer should hold, and a gate given one anyway waits on.

Each remind/escalate/default delay becomes a workflow timer. Over HTTP a delay is a finite
number of seconds up to a year and a day; a reconciliation started directly on Temporal can
still carry ``inf`` or ``1e300``, and that stage then never fires instead of failing every
workflow task of the run (on the dev server, with the probe workflow and the real ledger).
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import DECIDE_UPDATE, AttentionPolicy, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from tests.support.step_control import notices
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeInput

A_YEAR_AND_A_DAY = 366 * 86400
DELAYS = ("remind_after_seconds", "escalate_after_seconds", "default_after_seconds")


def _reconciliation(policy: str, field: str, value: str) -> str:
    """A request body with ``value`` written as is (JSON has no literal for ``Infinity``; Python's parser takes it)."""
    client_id = f"attn-{uuid.uuid4().hex[:8]}"
    request = {"client_id": client_id, "baseline": "v1", "candidate": "v2", "run": "r1"}
    return json.dumps(request)[:-1] + f', "{policy}": {{"{field}": {value}}}}}'


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1e300", "1e15", str(A_YEAR_AND_A_DAY + 1)])
@pytest.mark.parametrize("policy", ["attention", "signoff_attention"])
async def test_a_reconciliation_whose_delay_no_timer_should_hold_is_422_naming_it(
    api: httpx.AsyncClient, policy: str, value: str
) -> None:
    for field in DELAYS:
        response = await api.post(
            "/reconciliations",
            content=_reconciliation(policy, field, value),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, (field, response.text)
        assert [problem["field"] for problem in response.json()["errors"]] == [f"{policy}.{field}"]


async def test_a_campaign_whose_delay_no_timer_should_hold_is_422_naming_it(api: httpx.AsyncClient) -> None:
    campaign = {"campaign": f"attn-{uuid.uuid4().hex[:8]}", "clients": ["c1"], "baseline": "v1", "candidate": "v2"}
    raw = json.dumps(campaign)[:-1] + ', "signoff_attention": {"remind_after_seconds": Infinity}}'
    response = await api.post("/reconciliation-campaigns", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert [problem["field"] for problem in response.json()["errors"]] == ["signoff_attention.remind_after_seconds"]


async def test_a_delay_of_a_year_and_a_day_is_accepted(dev_env: WorkflowEnvironment, api: httpx.AsyncClient) -> None:
    raw = _reconciliation("signoff_attention", "escalate_after_seconds", str(A_YEAR_AND_A_DAY))
    response = await api.post("/reconciliations", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text
    await dev_env.client.get_workflow_handle(response.json()["run_id"]).terminate("test over")


async def test_the_document_shows_each_delay_s_bounds(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    policy = document["components"]["schemas"]["AttentionRequest"]["properties"]
    for field in DELAYS:
        (number,) = [choice for choice in policy[field]["anyOf"] if choice.get("type") == "number"]
        assert (number["exclusiveMinimum"], number["maximum"]) == (0, A_YEAR_AND_A_DAY)


@pytest.mark.parametrize("never", [math.inf, math.nan, 1e300, 1e19])
async def test_a_gate_started_directly_with_a_delay_no_timer_can_hold_skips_that_stage_and_waits(
    dev_env: WorkflowEnvironment, task_queue: str, probe_worker: Worker, sessions: SessionMaker, never: float
) -> None:
    policy = AttentionPolicy(remind_after_seconds=never, escalate_after_seconds=1)
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a"], gate=True, attention=policy))
    sent = await notices(sessions, handle.id, at_least=2)  # the gate's notice, then its escalation
    approve = StepDecision("signoff", "approve", operator="ada", reason="looks right")
    outcome = await asyncio.wait_for(handle.execute_update(DECIDE_UPDATE, approve, result_type=DecisionOutcome), 15)
    result = await handle.result()

    assert (outcome.action, outcome.duplicate, result.approved) == ("approve", False, True)
    assert sorted(row.notification_key.rsplit(":", 1)[1] for row in sent) == ["escalate", "notice"]
    failed = [
        e async for e in handle.fetch_history_events() if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed == []


async def test_a_gate_started_directly_with_a_delay_of_minus_infinity_reminds_at_once_as_it_always_did(
    dev_env: WorkflowEnvironment, task_queue: str, probe_worker: Worker, sessions: SessionMaker
) -> None:
    # -inf always became the shortest timer, and histories hold that timer: it must stay one.
    policy = AttentionPolicy(remind_after_seconds=-math.inf, escalate_after_seconds=1)
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a"], gate=True, attention=policy))
    sent = await notices(sessions, handle.id, at_least=3)  # the gate's notice, the reminder, the escalation
    await handle.terminate("test over")

    assert sorted(row.notification_key.rsplit(":", 1)[1] for row in sent) == ["escalate", "notice", "remind"]
