"""`/translation-projects` through HTTP: uploads reach S3 and the project's workflow, each
caller reaches only what it may, and bad input is refused naming the field before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.translation import TranslationFile, TranslationPair, TranslationProject
from activities.translation.contracts import project_workflow_id
from activities.translation.keys import ProjectKeys
from tests.conftest import PARTNER_TOKENS, serving_api
from tests.support.translation import xliff12
from worker.services import translation as service
from worker.settings import Settings

IDENTITIES = {
    "none": {"Authorization": ""},
    "operator": {},  # the client's own header: the operator's token
    **{partner: {"Authorization": f"Bearer {token}"} for partner, token in PARTNER_TOKENS.items()},
}


def _project() -> str:
    return f"p{uuid.uuid4().hex[:10]}"


def _limited(settings: Settings, **limits: Any) -> Settings:
    return settings.model_copy(update={"translation": settings.translation.model_copy(update=limits)})


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API, with projects that keep collecting files (nothing is read during a test)."""
    async with serving_api(dev_env, _limited(settings, settle_seconds=3600), sessions) as client:
        yield client


async def inbound_objects(aws: AwsClients, resources: Resources, customer: str, project: str) -> dict[str, bytes]:
    """Every object under the project's inbound folder, by its name in the project."""
    prefix = ProjectKeys(customer, project).inbound
    listed = await aws.call("s3", "list_objects_v2", Bucket=resources.translation_bucket, Prefix=prefix)
    return {
        item["Key"][len(prefix) :]: await aws.read_object(resources.translation_bucket, item["Key"])
        for item in listed.get("Contents", [])
    }


async def _workflow_exists(env: WorkflowEnvironment, customer: str, project: str) -> bool:
    try:
        await env.client.get_workflow_handle(project_workflow_id(customer, project)).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def _parts(*files: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (name, data)) for name, data in files]


async def test_an_operator_upload_writes_every_file_and_starts_the_project(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    aws: AwsClients,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "PROGRESS_QUERY_SECONDS", 0.5)
    project = _project()
    guide, glossary = xliff12({"1": "Hello"}), b"en,es\nStepwise,Stepwise\n"
    response = await api.post(
        f"/translation-projects/globex-{project}/files",
        files=_parts(("guide.xlf", guide), ("terminology/glossary.csv", glossary)),
    )
    handle = dev_env.client.get_workflow_handle(project_workflow_id("globex", project))
    try:
        description = await handle.describe()
        unanswered = await api.get(f"/translation-projects/globex-{project}")  # no worker polls this queue
    finally:
        await handle.terminate("test over")

    assert response.status_code == 202, response.text
    keys = ProjectKeys("globex", project)
    assert response.json() == {
        "project_id": f"globex-{project}",
        "workflow_id": f"translation-globex-{project}",
        "files": [keys.inbound_key("guide.xlf"), keys.inbound_key("terminology/glossary.csv")],
        "status_url": f"http://stepwise.test/translation-projects/globex-{project}",
    }
    assert response.headers["Location"] == response.json()["status_url"]
    assert await inbound_objects(aws, resources, "globex", project) == {
        "guide.xlf": guide,
        "terminology/glossary.csv": glossary,
    }
    assert description.workflow_type == "TranslationProjectWorkflow"
    assert await description.memo() == {}  # an operator's project has no owner
    # Known to exist, though nobody can say how far it got: not a 404, and not a wait for Temporal's deadline.
    assert unanswered.status_code == 200
    assert (unanswered.json()["status"], unanswered.json()["reason"]) == (
        "RUNNING",
        "no worker answered the progress query in time",
    )


async def test_a_partner_uploads_and_reads_its_own_project_only(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, stepwise_worker: Any
) -> None:
    project = _project()
    path = f"/translation-projects/acme-{project}"
    async with stepwise_worker(dev_env.client):
        uploaded = await api.post(
            f"{path}/files", files=_parts(("ui.xlf", xliff12({"1": "Save"}))), headers=IDENTITIES["acme"]
        )
        reads = {who: await api.get(path, headers=headers) for who, headers in IDENTITIES.items()}
        await dev_env.client.get_workflow_handle(project_workflow_id("acme", project)).terminate("test over")

    assert uploaded.status_code == 202, uploaded.text
    assert {who: r.status_code for who, r in reads.items()} == {
        "none": 401,
        "operator": 200,
        "acme": 200,
        "globex": 404,
    }
    # Collecting: only the workflow knows the project yet, and it knows who submitted it.
    own = reads["acme"].json()
    assert (own["status"], own["owner"], own["files"], own["workflow_id"]) == (
        "COLLECTING",
        "acme",
        1,
        f"translation-acme-{project}",
    )
    assert reads["operator"].json() == own
    assert reads["globex"].json() == {"detail": f"no translation project 'acme-{project}'", "errors": []}


@pytest.mark.parametrize(("who", "status"), [("none", 401), ("acme", 403)])
async def test_an_upload_for_another_customer_writes_nothing_and_starts_nothing(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, aws: AwsClients, resources: Resources, who: str, status: int
) -> None:
    project = _project()
    response = await api.post(
        f"/translation-projects/globex-{project}/files",
        files=_parts(("guide.xlf", xliff12({"1": "Hello"}))),
        headers=IDENTITIES[who],
    )
    assert response.status_code == status
    assert set(response.json()) == {"detail", "errors"}
    assert await inbound_objects(aws, resources, "globex", project) == {}
    assert not await _workflow_exists(dev_env, "globex", project)


@pytest.mark.parametrize(
    ("path", "files", "status", "field", "message"),
    [
        ("/translation-projects/Acme-{p}/files", [("a.xlf", b"x")], 422, "project_id", "String should match pattern"),
        ("/translation-projects/acme-{p}/files", [], 422, "files", "Field required"),
        (
            "/translation-projects/acme-{p}/files",
            [("a.xlf", b"x"), ("../b.xlf", b"x")],
            422,
            "files.1",
            "'../b.xlf': a file name is letters",
        ),
        (
            "/translation-projects/acme-{p}/files",
            [("a.xlf", b"x"), ("big.xlf", b"x" * 1025)],
            413,
            "files.1",
            "'big.xlf' is larger than 1024 bytes",
        ),
        (
            "/translation-projects/acme-{p}/files",
            [("a.xlf", b"x"), ("b.xlf", b"x"), ("c.xlf", b"x")],
            422,
            "files",
            "at most 2 files in one upload, got 3",
        ),
    ],
)
async def test_bad_uploads_are_refused_naming_the_field_and_write_nothing(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
    path: str,
    files: list[tuple[str, bytes]],
    status: int,
    field: str,
    message: str,
) -> None:
    project = _project()
    async with serving_api(dev_env, _limited(settings, max_upload_bytes=1024, max_files=2), sessions) as api:
        response = await api.post(path.format(p=project), files=_parts(*files) or None)
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert problem["detail"].startswith(f"{field}: ") and message in problem["detail"]
    assert await inbound_objects(aws, resources, "acme", project) == {}
    assert not await _workflow_exists(dev_env, "acme", project)


async def finished_project(sessions: SessionMaker, customer: str, project: str) -> None:
    """A delivered project as the pipeline records it: two pairs, one quarantined file."""
    pid = f"{customer}-{project}"
    async with sessions() as session, session.begin():
        session.add(
            TranslationProject(
                project_id=pid,
                customer=customer,
                project=project,
                workflow_id=f"translation-{pid}",
                owner=customer,
                status="DELIVERED",
                files=3,
                quarantined=1,
                characters=3000,
                cost_usd=Decimal("0.05"),
                price_standard=Decimal("15"),
                price_custom=Decimal("60"),
                reviewed_by="ops-anna",
                review_comment="fine",
            )
        )
        await session.flush()
        session.add_all(
            [
                TranslationPair(
                    project_id=pid,
                    source_language="en",
                    target_language=target,
                    state="STAGED",
                    files=1,
                    segments=12,
                    characters=1500,
                    flagged=12,
                    jobs=f"job-{target}",
                    price_per_million=Decimal("15"),
                    cost_usd=Decimal(cost),
                )
                for target, cost in (("es", "0.02"), ("fr", "0.03"))
            ]
            + [
                TranslationFile(
                    project_id=pid,
                    name="broken.xlf",
                    kind="xliff",
                    status="QUARANTINED",
                    reason="not well-formed XML at line 1",
                    quarantine_key=f"translation-quarantine/{customer}/{project}/broken.xlf",
                )
            ]
        )


async def test_status_of_a_delivered_project_reads_its_pairs_cost_and_refused_files(
    api: httpx.AsyncClient, sessions: SessionMaker
) -> None:
    project = _project()
    await finished_project(sessions, "acme", project)
    path = f"/translation-projects/acme-{project}"
    reads = {who: await api.get(path, headers=headers) for who, headers in IDENTITIES.items()}
    unknown = await api.get(f"/translation-projects/acme-never-{project}")
    malformed = await api.get("/translation-projects/no_dash_here")

    assert {who: r.status_code for who, r in reads.items()} == {
        "none": 401,
        "operator": 200,
        "acme": 200,
        "globex": 404,
    }
    view = reads["acme"].json()
    assert (view["status"], view["cost_usd"], view["characters"], view["reviewed_by"]) == (
        "DELIVERED",
        "0.05",
        3000,
        "ops-anna",
    )
    assert [(p["target_language"], p["segments"], p["flagged"], p["cost_usd"]) for p in view["pairs"]] == [
        ("es", 12, 12, "0.02"),
        ("fr", 12, 12, "0.03"),
    ]
    assert view["quarantined"][0]["name"] == "broken.xlf"
    assert view["outbound_prefix"] == f"s3://stepwise-translation/translation-outbound/acme/{project}/"
    assert reads["globex"].json() == {"detail": f"no translation project 'acme-{project}'", "errors": []}
    assert unknown.status_code == 404
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "project_id"


async def test_a_delivered_file_is_downloaded_by_its_customer_and_operators_only(
    api: httpx.AsyncClient, aws: AwsClients, resources: Resources
) -> None:
    project = _project()
    content = xliff12({"1": "Hola"}, source="en", target="es")
    key = ProjectKeys("acme", project).outbound_key("es", "guide.xlf")
    await aws.call("s3", "put_object", Bucket=resources.translation_bucket, Key=key, Body=content)
    path = f"/translation-projects/acme-{project}/outbound/es/guide.xlf"
    reads = {who: await api.get(path, headers=headers) for who, headers in IDENTITIES.items()}
    absent = await api.get(f"/translation-projects/acme-{project}/outbound/fr/guide.xlf")
    bad_target = await api.get(f"/translation-projects/acme-{project}/outbound/spanish!/guide.xlf")
    bad_name = await api.get(f"/translation-projects/acme-{project}/outbound/es/a..xlf")

    assert {who: r.status_code for who, r in reads.items()} == {
        "none": 401,
        "operator": 200,
        "acme": 200,
        "globex": 404,
    }
    assert reads["acme"].content == content == reads["operator"].content
    assert reads["acme"].headers["Content-Disposition"] == 'attachment; filename="guide.xlf"'
    assert absent.status_code == 404
    assert (bad_target.status_code, bad_target.json()["errors"][0]["field"]) == (422, "target")
    assert (bad_name.status_code, bad_name.json()["errors"][0]["field"]) == (422, "name")


async def test_the_openapi_document_lists_each_routes_refusals(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    refusals = {
        f"{method.upper()} {path}": sorted(code for code in operation["responses"] if code[0] in "45")
        for path, operations in paths.items()
        if path.startswith("/translation-projects/")
        for method, operation in operations.items()
    }
    assert refusals == {
        "POST /translation-projects/{project_id}/files": ["401", "403", "409", "413", "422", "429", "503"],
        "GET /translation-projects/{project_id}": ["401", "404", "422", "429", "503"],
        "GET /translation-projects/{project_id}/outbound/{target}/{name}": ["401", "404", "422", "429", "503"],
    }
    upload = paths["/translation-projects/{project_id}/files"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


async def test_an_upload_may_exceed_the_api_body_cap_up_to_the_upload_limit(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, aws: AwsClients, resources: Resources
) -> None:
    project = _project()
    big = xliff12({str(i): "A sentence of the user guide, long enough to count." * 4 for i in range(6000)})
    assert 1_048_576 < len(big) < 20 * 1024 * 1024  # over the API's 1 MiB cap, under the 20 MiB upload limit
    response = await api.post(f"/translation-projects/globex-{project}/files", files=_parts(("big.xlf", big)))
    try:
        assert response.status_code == 202, response.text
        assert (await inbound_objects(aws, resources, "globex", project))["big.xlf"] == big
    finally:
        await dev_env.client.get_workflow_handle(project_workflow_id("globex", project)).terminate("test over")
    elsewhere = await api.post("/media-jobs", content=big, headers={"Content-Type": "application/json"})
    assert elsewhere.status_code == 413


async def test_files_for_a_project_that_has_read_its_folder_are_refused_and_not_written(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, aws: AwsClients, resources: Resources
) -> None:
    project = _project()
    # A project past reading its folder, as its workflow marks itself (nobody polls this queue).
    handle = await dev_env.client.start_workflow(
        "TranslationProjectWorkflow",
        id=project_workflow_id("globex", project),
        task_queue=f"nobody-{uuid.uuid4()}",
        memo={"collected": True},
    )
    try:
        response = await api.post(
            f"/translation-projects/globex-{project}/files", files=_parts(("late.xlf", xliff12({"1": "Late."})))
        )
    finally:
        await handle.terminate("test over")
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["errors"][0]["field"] == "project_id"
    assert "has already read its files" in body["errors"][0]["message"]
    assert await inbound_objects(aws, resources, "globex", project) == {}
