"""`/shipments`: upload a shipment's documents and read the consolidated shipment.

An operator works on every shipment. A partner's shipments live in its own namespace: the
reference it names (``SHP-42``) is the shipment ``acme.SHP-42``, so no partner can claim or probe
a shipment id the forwarder or another partner uses. Its first upload makes it the owner; it
may add documents to its shipments and read them; any other shipment answers 404 exactly like a
missing one. Uploading is what a file
dropped under ``documents-inbound/<shipment>/<type>.pdf`` does: the document is written there
and the shipment's workflow is told of it. Reviews are decided through
``POST /workflows/shipment-<id>/decisions`` (gate ``review:<type>``, with ``answers``), like
every other gate.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Path, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from activities.common.resources import Resources
from activities.documents.contracts import SHIPMENT_PATTERN, shipment_workflow_id
from worker.api.app import ApiServices, api_aws
from worker.api.auth import AnyCaller, Caller, configured_partners
from worker.api.errors import AUTHENTICATED, error_responses
from worker.api.ratelimit import RateLimitedCaller
from worker.services import documents as service
from worker.settings import Settings

router = APIRouter(prefix="/shipments", tags=["documents"])

ShipmentId = Annotated[str, Path(pattern=SHIPMENT_PATTERN, description="The shipment id.")]
DocumentType = Annotated[Literal["invoice", "customs"], Path(description="Which document of the shipment this is.")]
DocumentFile = Annotated[
    UploadFile,
    File(description="The document, a PDF of at most STEPWISE_DOCUMENTS__MAX_DOCUMENT_BYTES bytes."),
]


class DocumentAccepted(BaseModel):
    """A document stored under the shipment's inbound folder and delivered to its workflow."""

    shipment_id: str
    workflow_id: str
    doc_type: str
    key: str
    """The S3 key written, in the documents bucket."""
    etag: str
    """The document's identity: the same bytes uploaded again change nothing."""
    status_url: str


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


SHIPMENT_COMPLETE = "the shipment is complete: send its documents as a new shipment"


def _scoped(caller: Caller, shipment_id: str) -> str | None:
    """The shipment a caller names: an operator any id; a partner its reference (placed in its
    namespace) or its own full id; an id in another namespace is None (answered as missing)."""
    if caller.is_operator:
        return shipment_id
    namespace, dot, _ = shipment_id.partition(".")
    if not dot:
        return caller.scoped_id(shipment_id)
    return shipment_id if namespace == caller.partner_id else None


def _not_found(shipment_id: str) -> HTTPException:
    return HTTPException(404, f"no shipment {shipment_id!r}")


def _refused(field: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]}, status_code=status
    )


@router.post(
    "/{shipment_id}/documents/{doc_type}",
    status_code=202,
    response_model=DocumentAccepted,
    responses=error_responses(*AUTHENTICATED, 404, 409, 413, 422, 429),
)
async def upload(
    shipment_id: ShipmentId,
    doc_type: DocumentType,
    file: DocumentFile,
    request: Request,
    response: Response,
    caller: RateLimitedCaller,
) -> Any:
    """Add a document to a shipment (starting it if new); 202 once it is stored and the shipment told of it.

    A partner names its own reference (``SHP-42``): the shipment is ``<partner>.SHP-42``. 422
    names the field for an empty file or one that is not a PDF, 413 for one over the limit, 409
    when the shipment is already complete (nothing is written).
    """
    settings: Settings = request.app.state.settings
    limit = settings.documents.max_document_bytes
    data = await file.read(limit + 1)
    try:
        service.check_document(data, limit)
    except service.DocumentRefused as refused:
        return _refused(refused.field, refused.message, refused.status)
    services = _services(request)
    scoped = _scoped(caller, shipment_id)
    if scoped is None:
        raise _not_found(shipment_id)
    owner = service.starting_owner(scoped, caller.owner, configured_partners(request))
    if not await service.claim(services.sessions, scoped, owner, any_shipment=caller.is_operator):
        raise _not_found(shipment_id)
    shipment_id = scoped
    if await service.is_complete(services.sessions, shipment_id):
        return _refused("shipment_id", SHIPMENT_COMPLETE, 409)
    arrival, delivered = await service.upload(
        api_aws(request),
        services.client,
        settings,
        Resources(prefix=settings.aws.name_prefix),
        shipment_id,
        doc_type,
        data,
        caller.owner,
        services.task_queue,
    )
    if not delivered:
        return _refused("shipment_id", SHIPMENT_COMPLETE, 409)
    status_url = str(request.url_for("shipment_status", shipment_id=shipment_id))
    response.headers["Location"] = status_url
    return DocumentAccepted(
        shipment_id=shipment_id,
        workflow_id=shipment_workflow_id(shipment_id),
        doc_type=doc_type,
        key=arrival.key,
        etag=arrival.etag,
        status_url=status_url,
    )


@router.get(
    "/{shipment_id}",
    name="shipment_status",
    response_model=service.ShipmentView,
    responses=error_responses(*AUTHENTICATED, 404),
)
async def status(shipment_id: ShipmentId, request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The shipment's documents, every field with its provenance, and what it waits for."""
    services = _services(request)
    scoped = _scoped(caller, shipment_id)
    if scoped is None:
        raise _not_found(shipment_id)
    exists, partner = await service.owner_of(services.sessions, scoped)
    if not caller.is_operator and (not exists or partner != caller.partner_id):
        raise _not_found(shipment_id)  # before any other read: another's shipment is never touched
    shipment_id = scoped
    view = await service.shipment_view(services.sessions, services.client, shipment_id)
    if view is None:
        raise _not_found(shipment_id)
    return view.as_json()
