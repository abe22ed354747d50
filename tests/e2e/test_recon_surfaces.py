"""`stepwise recon start|status`, `stepwise decide`, and the reconciliation API, on the real stack."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.support.processes import stack_env, stepwise
from worker.api.app import ApiServices, create_app
from worker.settings import Settings, hash_token

OPERATOR = {"Authorization": "Bearer op-token"}
PARTNER = {"Authorization": "Bearer partner-token"}


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    api_settings = settings.api.model_copy(
        update={
            "operator_token_hashes": [hash_token("op-token")],
            "partner_token_hashes": {"p1": hash_token("partner-token")},
        }
    )
    app = create_app(settings.model_copy(update={"api": api_settings}))
    app.state.services = ApiServices(dev_env.client, sessions, settings.worker.task_queue)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def test_the_cli_starts_waits_reports_and_signs_off(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, stepwise_worker: Any
) -> None:
    env = stack_env(dev_env, settings)
    run = f"cli{uuid.uuid4().hex[:8]}"
    async with stepwise_worker(dev_env.client):
        started = await asyncio.to_thread(
            stepwise,
            "recon",
            "start",
            "--client",
            "acme",
            "--baseline",
            "v1",
            "--candidate",
            "v2",
            "--run",
            run,
            "--wait",
            "--json",
            "--timeout",
            "90",
            env=env,
            timeout=120,
        )
        assert started.returncode == 0, started.stderr
        view = json.loads(started.stdout)
        run_id = f"recon-acme-{run}"
        assert view["run_id"] == run_id and view["phase"] == "awaiting-signoff"
        assert view["status"] == "AWAITING_SIGNOFF" and view["different_reports"] == ["interest_accrual"]

        status = await asyncio.to_thread(stepwise, "recon", "status", run_id, env=env)
        assert status.returncode == 0, status.stderr
        assert "interest_accrual: different" in status.stdout and "columns=monthly_interest" in status.stdout

        decided = await asyncio.to_thread(
            stepwise, "decide", run_id, "signoff", "approve", "--operator", "ada", "--reason", "expected", env=env
        )
        assert decided.returncode == 0, decided.stderr
        await dev_env.client.get_workflow_handle(run_id).result()
    final = await asyncio.to_thread(stepwise, "recon", "status", run_id, "--json", env=env)
    view = json.loads(final.stdout)
    assert view["execution"] == "COMPLETED" and view["status"] == "APPROVED" and view["signoff_by"] == "ada"


async def test_the_cli_refuses_bad_input_in_one_line(dev_env: WorkflowEnvironment, settings: Settings) -> None:
    env = stack_env(dev_env, settings)
    bad = await asyncio.to_thread(stepwise, "recon", "start", "--client", "Bad Client", env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["stepwise: client_id: lower-case letters, digits and dashes"]
    same = await asyncio.to_thread(stepwise, "recon", "start", "--client", "acme", "--candidate", "v1", env=env)
    assert same.returncode == 2 and "candidate: must differ from baseline" in same.stderr
    missing = await asyncio.to_thread(stepwise, "recon", "status", "recon-nobody-nothing", env=env)
    assert missing.returncode == 3 and "no reconciliation" in missing.stderr and "Traceback" not in missing.stderr


async def test_the_api_starts_and_reports_a_reconciliation_for_operators_only(
    dev_env: WorkflowEnvironment, resources: Resources, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    body = {"client_id": "acme", "baseline": "v1", "candidate": "v2", "run": f"api{uuid.uuid4().hex[:8]}"}
    assert (await api.post("/reconciliations", json=body, headers=PARTNER)).status_code == 403
    invalid = await api.post("/reconciliations", json={**body, "client_id": "Acme!"}, headers=OPERATOR)
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "client_id"
    same = await api.post("/reconciliations", json={**body, "candidate": "v1"}, headers=OPERATOR)
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "candidate"
    async with stepwise_worker(dev_env.client):
        started = await api.post("/reconciliations", json=body, headers=OPERATOR)
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        again = await api.post("/reconciliations", json=body, headers=OPERATOR)
        assert again.json()["run_id"] == run_id
        for _ in range(300):
            view = (await api.get(f"/reconciliations/{run_id}", headers=OPERATOR)).json()
            if view["phase"] == "awaiting-signoff":
                break
            await asyncio.sleep(0.2)
        assert view["phase"] == "awaiting-signoff", view
        assert view["different_reports"] == ["interest_accrual"]
        assert {r["report"]: r["status"] for r in view["reports"]}["interest_accrual"] == "different"
        decided = await api.post(
            f"/workflows/{run_id}/decisions",
            json={"step": "signoff", "action": "reject", "operator": "ada", "reason": "not yet"},
            headers=OPERATOR,
        )
        assert decided.status_code == 200
        outcome = await dev_env.client.get_workflow_handle(run_id).result()
        assert outcome["outcome"] == "rejected", outcome
    assert (await api.get("/reconciliations/recon-none-none", headers=OPERATOR)).status_code == 404


async def test_a_campaign_started_over_the_api_is_followed_there_and_from_the_cli(
    dev_env: WorkflowEnvironment, settings: Settings, stepwise_worker: Any, api: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    clients = [f"camp-{tag}-a", f"camp-{tag}-b"]
    body = {
        "campaign": f"c-{tag}",
        "clients": clients,
        "baseline": "v1",
        "candidate": "v2",
        "run": "r1",
        "signoff_required": False,
        "max_parallel": 1,
    }
    assert (await api.post("/reconciliation-campaigns", json=body, headers=PARTNER)).status_code == 403
    bad = await api.post("/reconciliation-campaigns", json={**body, "clients": ["Bad!"]}, headers=OPERATOR)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("clients")
    async with stepwise_worker(dev_env.client):
        started = await api.post("/reconciliation-campaigns", json=body, headers=OPERATOR)
        assert started.status_code == 202, started.text
        await dev_env.client.get_workflow_handle(started.json()["workflow_id"]).result()
    view = (await api.get(f"/reconciliation-campaigns/c-{tag}", headers=OPERATOR)).json()
    assert view["execution"] == "COMPLETED" and view["counts"] == {"completed": 2}
    listed = (await api.get("/reconciliations", params={"client_id": clients[0]}, headers=OPERATOR)).json()
    assert [(r["run_id"], r["status"]) for r in listed["items"]] == [(f"recon-{clients[0]}-r1", "COMPLETED")]
    env = stack_env(dev_env, settings)
    cli = await asyncio.to_thread(stepwise, "recon", "campaign", "status", f"c-{tag}", "--json", env=env)
    assert cli.returncode == 0 and json.loads(cli.stdout)["outcomes"] == {f"recon-{c}-r1": "completed" for c in clients}
    runs = await asyncio.to_thread(stepwise, "recon", "list", "--client", clients[1], "--json", env=env)
    assert [r["status"] for r in json.loads(runs.stdout)] == ["COMPLETED"]
    missing = await asyncio.to_thread(stepwise, "recon", "campaign", "status", "nope-none", env=env)
    assert missing.returncode == 3 and missing.stderr.strip() == "stepwise: no campaign 'nope-none'"
