"""Operator surfaces over a parked execution: `stepwise attention|decide`, the API, the gauges."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import StepDecision
from activities.common.db import SessionMaker
from tests.support.processes import stack_env, stepwise
from tests.support.step_control import audits, wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput
from worker.api.app import ApiServices, create_app
from worker.attention_metrics import AttentionGauges
from worker.devstack.processes import free_port
from worker.services.operations import AttentionItem, list_attention
from worker.settings import Settings, hash_token

OPERATOR_TOKEN = "operator-secret"
PARTNER_TOKEN = "partner-secret"


async def _listed(env: WorkflowEnvironment, workflow_id: str) -> AttentionItem:
    for _ in range(100):
        items = {item.workflow_id: item for item in await list_attention(env.client)}
        if workflow_id in items and items[workflow_id].error_type:
            return items[workflow_id]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never listed as needing attention")


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "api": settings.api.model_copy(
                update={
                    "operator_token_hashes": [hash_token(OPERATOR_TOKEN)],
                    "partner_token_hashes": {"p1": hash_token(PARTNER_TOKEN)},
                }
            )
        }
    )
    app = create_app(configured)
    app.state.services = ApiServices(dev_env.client, sessions, settings.worker.task_queue)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def test_attention_and_decide_from_the_cli(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    probe: ProbeActivities,
    probe_worker: Worker,
    sessions: SessionMaker,
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["a", "b"]))
    await wait_waiting(handle, "b")
    await _listed(dev_env, handle.id)
    env = stack_env(dev_env, settings)

    listed = await asyncio.to_thread(stepwise, "attention", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    entry = next(item for item in json.loads(listed.stdout) if item["workflow_id"] == handle.id)
    assert entry["pipeline"] == "probe" and entry["step"] == "b"
    assert entry["error_type"] == "InjectedFault" and entry["allowed_actions"] == ["retry", "skip", "abort"]
    text = await asyncio.to_thread(stepwise, "attention", env=env)
    assert any(line.startswith(handle.id) and "InjectedFault" in line for line in text.stdout.splitlines())

    rejected = await asyncio.to_thread(stepwise, "decide", handle.id, "a", "retry", "--operator", "ada", env=env)
    assert rejected.returncode == 2
    assert rejected.stderr.strip().splitlines() == [
        "stepwise: decision rejected: step 'a' is not waiting for a decision (it is succeeded)"
    ]
    missing = await asyncio.to_thread(stepwise, "decide", handle.id, "b", "retry", env=env)
    assert missing.returncode == 2 and "operator" in missing.stderr and "Traceback" not in missing.stderr

    probe.armed.clear()
    decided = await asyncio.to_thread(
        stepwise, "decide", handle.id, "b", "retry", "--operator", "ada", "--reason", "fixed", env=env
    )
    assert decided.returncode == 0, decided.stderr
    assert "retry of b by ada accepted" in decided.stdout
    await handle.result()
    assert [(r.action, r.operator, r.reason) for r in await audits(sessions, handle.id)] == [("retry", "ada", "fixed")]


async def test_attention_and_decisions_over_http_are_for_operators_only(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    probe: ProbeActivities,
    probe_worker: Worker,
    api: httpx.AsyncClient,
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["b"]))
    await wait_waiting(handle, "b")
    await _listed(dev_env, handle.id)
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    partner = {"Authorization": f"Bearer {PARTNER_TOKEN}"}

    assert (await api.get("/attention")).status_code == 401
    assert (await api.get("/attention", headers=partner)).status_code == 403
    listed = await api.get("/attention", headers=operator)
    assert listed.status_code == 200
    entry = next(item for item in listed.json()["items"] if item["workflow_id"] == handle.id)
    assert entry["step"] == "b" and entry["error_type"] == "InjectedFault"

    url = f"/workflows/{handle.id}/decisions"
    body: dict[str, Any] = {"step": "b", "action": "skip", "operator": "ada", "reason": "not needed"}
    assert (await api.post(url, json=body, headers=partner)).status_code == 403
    bad = await api.post(url, json={**body, "action": "explode"}, headers=operator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "action"
    wrong = await api.post(url, json={**body, "step": "nope"}, headers=operator)
    assert wrong.status_code == 409 and "unknown step 'nope'" in wrong.json()["detail"]
    gone = await api.post("/workflows/no-such-execution/decisions", json=body, headers=operator)
    assert gone.status_code == 404
    accepted = await api.post(url, json=body, headers=operator)
    assert accepted.status_code == 200 and accepted.json()["action"] == "skip"
    assert (await handle.result()).values == [""]


async def test_the_worker_exports_attention_gauges(
    dev_env: WorkflowEnvironment, task_queue: str, probe: ProbeActivities, probe_worker: Worker
) -> None:
    probe.armed.add("b")
    handle = await start_probe(dev_env.client, task_queue, ProbeInput(steps=["b"]))
    await wait_waiting(handle, "b")
    await _listed(dev_env, handle.id)
    port = free_port()
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")))
    counts = await AttentionGauges(dev_env.client, runtime.metric_meter).poll_once()
    assert counts.get("probe", 0) >= 1
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    waiting = [line for line in metrics.splitlines() if line.startswith("stepwise_attention_waiting{")]
    oldest = [line for line in metrics.splitlines() if line.startswith("stepwise_attention_oldest_waiting_seconds{")]
    assert any('pipeline="probe"' in line and float(line.split()[-1]) >= 1 for line in waiting)
    assert any('pipeline="probe"' in line and float(line.split()[-1]) > 0 for line in oldest)
    await handle.signal("stepwise.decision", StepDecision("b", "skip", operator="ada"))
    await handle.result()
