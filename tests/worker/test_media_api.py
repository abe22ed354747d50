"""`/media-jobs` through HTTP: bad input is a 422 naming the field before anything starts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.media.keys import media_workflow_id
from tests.support.media import DEMO_TEXT, upload_media


def _body(media_uri: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": f"api-{uuid.uuid4().hex[:12]}",
        "media_uri": media_uri,
        "language": "en-US",
        "targets": ["es", "fr"],
        "poll_interval_seconds": 1,
    }
    body.update(overrides)
    return body


async def _never_started(env: WorkflowEnvironment, job_id: str) -> bool:
    try:
        await env.client.get_workflow_handle(media_workflow_id(job_id)).describe()
    except RPCError as error:
        return error.status == RPCStatusCode.NOT_FOUND
    return False


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"media_uri": "https://example.com/talk.wav"}, "media_uri", "expected s3://bucket/key"),
        (
            {"media_uri": "s3://stepwise-media/no/such/object.wav"},
            "media_uri",
            "no object at s3://stepwise-media/no/such",
        ),
        ({"language": "english"}, "language", "not an Amazon Transcribe language code"),
        ({"targets": ["es", "xx"]}, "targets", "'xx' is not an Amazon Translate language code"),
        ({"targets": []}, "targets", "at least one target language"),
        ({"targets": ["en"]}, "targets", "is the language of the speech"),
        ({"job_id": "has spaces"}, "job_id", "letters, digits"),
        ({"poll_interval_seconds": 0.1}, "poll_interval_seconds", "between 1 and 604800 seconds"),
        ({"poll_interval_seconds": 1e9}, "poll_interval_seconds", "between 1 and 604800 seconds"),
    ],
)
async def test_invalid_requests_are_422_naming_the_field_and_start_nothing(
    api: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    aws: AwsClients,
    resources: Resources,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    body = {**_body(await upload_media(aws, resources, DEMO_TEXT)), **overrides}
    response = await api.post("/media-jobs", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert message in problem["detail"] and problem["detail"].startswith(f"{field}: ")
    assert await _never_started(dev_env, body["job_id"])


async def test_a_missing_field_is_named_by_the_validation_handler(api: httpx.AsyncClient) -> None:
    response = await api.post("/media-jobs", json={"media_uri": "s3://stepwise-media/x.wav", "language": "en-US"})
    assert response.status_code == 422
    assert response.json()["detail"] == "targets: Field required"


async def test_the_same_job_id_maps_to_the_same_workflow(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, aws: AwsClients, resources: Resources, stepwise_worker: Any
) -> None:
    body = _body(await upload_media(aws, resources, DEMO_TEXT))
    async with stepwise_worker(dev_env.client):
        first = await api.post("/media-jobs", json=body)
        second = await api.post("/media-jobs", json=body)
        conflicting = await api.post("/media-jobs", json={**body, "targets": ["de"]})
        await dev_env.client.get_workflow_handle(media_workflow_id(body["job_id"])).result()
        status = await api.get(first.json()["status_url"])
    assert (first.status_code, second.status_code, conflicting.status_code) == (202, 202, 409)
    assert first.json()["created"] and not second.json()["created"]
    assert first.json()["workflow_id"] == second.json()["workflow_id"] == media_workflow_id(body["job_id"])
    assert first.headers["Location"] == first.json()["status_url"]
    executions = [e async for e in dev_env.client.list_workflows(f"WorkflowId = '{media_workflow_id(body['job_id'])}'")]
    assert len(executions) == 1
    assert status.status_code == 200
    view = status.json()
    assert (view["status"], view["workflow_status"]) == ("COMPLETED", "COMPLETED")
    assert [t["language"] for t in view["translations"]] == ["es", "fr"]


async def test_an_unknown_job_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/media-jobs/never-submitted")
    assert response.status_code == 404
    assert response.json()["detail"] == "no media job 'never-submitted'"
