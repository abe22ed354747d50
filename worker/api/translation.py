"""`/translation-projects`: upload a project's files, read its status, download its translations.

A project id is ``<customer>-<project>`` (a customer id has no ``-``, so the id splits one
way only). An operator works on every customer's projects; a partner submits files for
itself only (its partner id is the customer: another customer is 403) and reads only its
own projects, another's answering 404 exactly like a missing one. Uploading is what a file
dropped under ``translation-inbound/<customer>/<project>/`` does: the files are written
there and the project's workflow is told of each, so a project uploaded in several
requests, or partly by S3 and partly here, is still one project.

Each multipart part's *filename* is the file's name in the project, so terminology and
translation memory go up as ``terminology/<name>.csv|.tmx`` and ``memory/<name>.tmx``
(``curl -F 'files=@glossary.csv;filename=terminology/glossary.csv'``). A second part with
the same name replaces the first. Reviews are decided through ``POST /workflows/{id}/decisions``
(gate ``review``), like every other gate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Path, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from activities.common.contracts import AWS_NOT_FOUND
from activities.common.resources import Resources
from activities.translation.contracts import CUSTOMER_PATTERN, PROJECT_PATTERN, project_workflow_id, split_project_id
from activities.translation.keys import ProjectKeys
from worker.api.app import ApiServices, api_aws
from worker.api.auth import AnyCaller, Caller
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.ratelimit import RateLimitedCaller
from worker.services import translation as service
from worker.settings import Settings, TranslationSettings

router = APIRouter(prefix="/translation-projects", tags=["translation"])

PROJECT_ID_PATTERN = f"{CUSTOMER_PATTERN.removesuffix('$')}-{PROJECT_PATTERN.removeprefix('^')}"
"""``<customer>-<project>``: exactly the ids :func:`split_project_id` accepts."""
TARGET_PATTERN = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"
"""An Amazon Translate language code (``es``, ``fr-CA``, ``zh-TW``)."""
DELIVERED_NAME_PATTERN = r"^[A-Za-z0-9](\.?[A-Za-z0-9 _()-])*\.?$"
"""A delivered file's name: what ``check_file_name`` accepts in one path segment (no ``..``)."""

ProjectId = Annotated[str, Path(pattern=PROJECT_ID_PATTERN, description="The project id, ``<customer>-<project>``.")]
Target = Annotated[str, Path(pattern=TARGET_PATTERN, description="The target language of the translation.")]
DeliveredName = Annotated[
    str, Path(pattern=DELIVERED_NAME_PATTERN, max_length=200, description="The file's name in the project.")
]
ProjectFiles = Annotated[
    list[UploadFile],
    File(
        min_length=1,
        description=(
            "The project's files, one part each; a part's filename is the file's name in the project: "
            "a plain name for XLIFF, ``terminology/<name>`` for terminology (CSV or TMX), ``memory/<name>`` "
            "for translation memory (TMX). Each file at most STEPWISE_TRANSLATION__MAX_UPLOAD_BYTES, "
            "at most STEPWISE_TRANSLATION__MAX_FILES files."
        ),
    ),
]


class FilesAccepted(BaseModel):
    """Files written under the project's inbound folder, and the project they went to."""

    project_id: str
    workflow_id: str
    files: list[str]
    """The S3 keys written, in the bucket of translation projects."""
    status_url: str


class _Refused(Exception):
    """A request refused naming one field (answered with the API's error body)."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"detail": str(self), "errors": [{"field": self.field, "message": self.message}]},
            status_code=self.status,
        )


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def _resources(request: Request) -> Resources:
    settings: Settings = request.app.state.settings
    return Resources(prefix=settings.aws.name_prefix)


def _split(project_id: str) -> tuple[str, str]:
    # The path's pattern is the same rule; this only turns the checked id into its parts.
    parts = split_project_id(project_id)
    if parts is None:
        problem = {"loc": ("path", "project_id"), "msg": "is not <customer>-<project>", "type": "value_error"}
        raise RequestValidationError([problem])
    return parts


def _reachable(project_id: str, caller: Caller) -> tuple[str, str]:
    """``(customer, project)`` if the caller may read the project; another customer's is 404."""
    customer, project = _split(project_id)
    if not caller.may_access_partner(customer):
        raise _not_found(project_id)
    return customer, project


def _not_found(project_id: str) -> HTTPException:
    return HTTPException(404, f"no translation project {project_id!r}")


@router.post(
    "/{project_id}/files",
    status_code=202,
    response_model=FilesAccepted,
    responses=error_responses(*AUTHENTICATED, 403, 409, 413, 429),
)
async def upload(
    project_id: ProjectId, files: ProjectFiles, request: Request, response: Response, caller: RateLimitedCaller
) -> Any:
    """Add files to a project (starting it if new); 202 once every file is stored and the project told of it."""
    customer, project = _split(project_id)
    if not caller.may_access_partner(customer):
        raise HTTPException(403, "a partner may submit projects for itself only")
    settings: Settings = request.app.state.settings
    try:
        contents = await _read(files, settings.translation)
    except _Refused as refused:
        return refused.response()
    services, resources = _services(request), _resources(request)
    closed = await service.closed_reason(services.client, customer, project)
    if closed is not None:
        return _Refused(409, "project_id", closed).response()
    keys = await service.upload_files(api_aws(request), resources, customer, project, contents)
    submitted = service.project_request(settings, resources, customer, project, caller.owner)
    # One signal for the upload (each file's S3 event signals too): reading waits for quiet.
    await service.signal_project(services.client, submitted, keys[-1], services.task_queue)
    status_url = str(request.url_for("translation_project_status", project_id=project_id))
    response.headers["Location"] = status_url
    workflow_id = project_workflow_id(customer, project)
    return FilesAccepted(project_id=project_id, workflow_id=workflow_id, files=keys, status_url=status_url)


async def _read(files: list[UploadFile], limits: TranslationSettings) -> list[tuple[str, bytes]]:
    """Each part's name and content, all checked before anything is written."""
    if len(files) > limits.max_files:
        raise _Refused(422, "files", f"at most {limits.max_files} files in one upload, got {len(files)}")
    names = []
    for index, part in enumerate(files):
        try:
            names.append(service.check_file_name(part.filename or ""))
        except service.InvalidFileName as error:
            raise _Refused(422, f"files.{index}", str(error)) from None
    contents: dict[str, bytes] = {}
    for index, (name, part) in enumerate(zip(names, files, strict=True)):
        data = await part.read(limits.max_upload_bytes + 1)
        if len(data) > limits.max_upload_bytes:
            raise _Refused(413, f"files.{index}", f"{name!r} is larger than {limits.max_upload_bytes} bytes")
        contents[name] = data  # a later part of the same name replaces the earlier
    return list(contents.items())


@router.get(
    "/{project_id}",
    name="translation_project_status",
    response_model=service.ProjectView,
    responses=error_responses(*AUTHENTICATED, 404),
)
async def status(project_id: ProjectId, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The project's status, its language pairs (segments, flagged, characters, cost) and refused files."""
    customer, project = _reachable(project_id, caller)  # before any read: another's project is never touched
    services = _services(request)
    view = await service.project_view(services.sessions, services.client, _resources(request), customer, project)
    if view is None:
        raise _not_found(project_id)
    return view.as_json()


@router.get(
    "/{project_id}/outbound/{target}/{name}",
    response_class=Response,
    responses={
        200: {"description": "The delivered file.", "content": {"application/octet-stream": {}}},
        **error_responses(*AUTHENTICATED, 404),
    },
)
async def delivered_file(
    project_id: ProjectId, target: Target, name: DeliveredName, request: Request, caller: AnyCaller
) -> Response:
    """One translated file as delivered after review; 404 until it is."""
    customer, project = _reachable(project_id, caller)
    try:
        service.check_file_name(name)
    except service.InvalidFileName as error:
        return _Refused(422, "name", str(error)).response()
    resources = _resources(request)
    key = ProjectKeys(customer, project).outbound_key(target, name)
    try:
        data = await api_aws(request).read_object(resources.translation_bucket, key)
    except ApplicationError as error:
        if error.type == AWS_NOT_FOUND:
            raise HTTPException(
                404, f"no delivered file {target}/{name} in translation project {project_id!r}"
            ) from None
        raise
    disposition = f'attachment; filename="{name}"'
    return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": disposition})
