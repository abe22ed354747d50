"""`stepwise documents upload` as an operator runs it: a shipment in a partner's namespace stays the partner's."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.documents import Shipment
from tests.conftest import PARTNER_TOKENS
from tests.support.processes import stack_env, stepwise
from tests.worker.test_api_authorization import ACME
from worker.devstack.shipment_demo import demo_documents
from worker.settings import Settings, hash_token


async def test_an_operators_upload_to_a_partners_shipment_id_leaves_it_the_partners(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    resources: Resources,
    api: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    reference = f"SHP-CLI-{uuid.uuid4().hex[:8]}"
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(demo_documents()["invoice"])
    args = ["documents", "upload", str(invoice), "--shipment", f"acme.{reference}", "--type", "invoice"]
    try:
        partners = json.dumps({p: hash_token(t) for p, t in PARTNER_TOKENS.items()})  # configured as the API's
        env = stack_env(dev_env, settings, STEPWISE_API__PARTNER_TOKEN_HASHES=partners)
        uploaded = await asyncio.to_thread(stepwise, *args, env=env)
        assert uploaded.returncode == 0, uploaded.stderr
        async with sessions() as session:
            row = await session.get(Shipment, f"acme.{reference}")
        assert row is not None and row.partner == "acme"
        assert (await api.get(f"/shipments/{reference}", headers=ACME)).status_code == 200  # acme reaches it
    finally:
        await dev_env.client.get_workflow_handle(f"shipment-acme.{reference}").terminate("test over")
