"""The decision log and bulk decisions filter by every pipeline the console offers, and only those."""

from __future__ import annotations

import httpx
import pytest

EVERY_PIPELINE = ("booking", "media", "recon", "b2b", "poller", "translation", "documents")
"""What the operator console filters by: every pipeline whose steps or gates wait for an operator."""


def _bulk_dry_run(pipeline: str) -> dict[str, object]:
    return {"selection": {"pipeline": pipeline, "step": "nothing-waits-here"}, "action": "retry", "dry_run": True}


@pytest.mark.parametrize("pipeline", EVERY_PIPELINE)
async def test_the_decision_log_filters_by_every_pipeline(api: httpx.AsyncClient, pipeline: str) -> None:
    response = await api.get("/decisions", params={"pipeline": pipeline})
    assert response.status_code == 200, response.text
    assert all(row["pipeline"] == pipeline for row in response.json()["items"])


@pytest.mark.parametrize("pipeline", EVERY_PIPELINE)
async def test_a_bulk_decision_selects_by_every_pipeline(api: httpx.AsyncClient, pipeline: str) -> None:
    response = await api.post("/decisions/bulk", json=_bulk_dry_run(pipeline))
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 0


async def test_an_unknown_pipeline_is_422_naming_the_field(api: httpx.AsyncClient) -> None:
    log = await api.get("/decisions", params={"pipeline": "ledger"})
    bulk = await api.post("/decisions/bulk", json=_bulk_dry_run("ledger"))
    assert (log.status_code, bulk.status_code) == (422, 422)
    assert [problem["field"] for problem in log.json()["errors"]] == ["pipeline"]
    assert [problem["field"] for problem in bulk.json()["errors"]] == ["selection.pipeline"]
    assert "documents" in log.json()["errors"][0]["message"]  # the refusal says what is accepted


async def test_the_document_lists_every_pipeline(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    (parameter,) = [p for p in document["paths"]["/decisions"]["get"]["parameters"] if p["name"] == "pipeline"]
    selection = document["components"]["schemas"]["Selection"]["properties"]["pipeline"]
    for schema in (parameter["schema"], selection):
        (named,) = [choice for choice in schema["anyOf"] if choice.get("type") == "string"]
        assert sorted(named["enum"]) == sorted(EVERY_PIPELINE)
