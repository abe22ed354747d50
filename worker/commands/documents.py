"""`stepwise documents upload | status`: a shipment's documents to one consolidated record.

The CLI acts as an operator: it uploads to any shipment and reads every one. Reviews are
answered with `stepwise decide shipment-<id> review:<type> approve --answer name=value ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import Client

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.documents.contracts import DOCUMENT_TYPES, valid_shipment_id
from worker.commands.common import CliError, database_sessions, print_json, run, settings
from worker.services import documents as service
from worker.temporal import FAIL_FAST, connect

app = typer.Typer(
    help="Shipment documents: Textract and Comprehend extraction, review of what is uncertain, one record.",
    no_args_is_help=True,
)


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="The document, a PDF.")],
    shipment: Annotated[
        str,
        typer.Option(help="The shipment's id (letters, digits, '_', '-'; up to 64; a partner's as <partner>.<id>)."),
    ],
    doc_type: Annotated[str, typer.Option("--type", help=f"Which document it is: {', '.join(DOCUMENT_TYPES)}.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Upload FILE as the shipment's document of --type (starting the shipment if new)."""
    if not valid_shipment_id(shipment):
        raise CliError(
            f"--shipment: {shipment!r} is not a shipment id (letters, digits, '_', '-'; up to 64; "
            "a partner's as <partner>.<id>)"
        )
    if doc_type not in DOCUMENT_TYPES:
        raise CliError(f"--type: {doc_type!r} is not a document type (expected one of {', '.join(DOCUMENT_TYPES)})")
    if not file.is_file():
        raise CliError(f"{file}: no such file")
    limit = settings().documents.max_document_bytes
    if file.stat().st_size > limit:
        raise CliError(f"{file}: larger than {limit} bytes (STEPWISE_DOCUMENTS__MAX_DOCUMENT_BYTES)")
    data = file.read_bytes()
    try:
        service.check_document(data, limit)
    except service.DocumentRefused as refused:
        raise CliError(f"{file}: {refused.message}") from None
    key, etag, delivered = run(_upload(shipment, doc_type, data))
    if not delivered:
        raise CliError(f"shipment {shipment} is complete: send its documents as a new shipment")
    if as_json:
        print_json({"shipment_id": shipment, "workflow_id": f"shipment-{shipment}", "key": key, "etag": etag})
        return
    typer.echo(f"shipment {shipment}: {doc_type} uploaded ({key}, etag {etag})")
    typer.echo(f"follow it with `stepwise documents status {shipment}`")


@app.command()
def status(
    shipment: Annotated[str, typer.Argument(help="The shipment's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a shipment: its documents, every field with its provenance, and what it waits for."""
    if not valid_shipment_id(shipment):
        raise CliError(f"{shipment!r} is not a shipment id")
    view = run(_view(shipment))
    if view is None:
        raise CliError(f"no shipment {shipment!r}")
    if as_json:
        print_json(view.as_json())
    else:
        _show(view)


async def _upload(shipment: str, doc_type: str, data: bytes) -> tuple[str, str, bool]:
    config = settings()
    client = await _client()  # before writing anything: with Temporal down nothing is half submitted
    async with database_sessions() as sessions:
        # acme.SHP-1 stays acme's: acme reaches it.
        owner = service.starting_owner(shipment, None, config.api.partner_token_hashes)
        await service.claim(sessions, shipment, owner, any_shipment=True)
        if await service.is_complete(sessions, shipment):  # nothing written to a finished shipment
            return "", "", False
    arrival, delivered = await service.upload(
        AwsClients(),
        client,
        config,
        Resources(prefix=config.aws.name_prefix),
        shipment,
        doc_type,
        data,
        None,
        config.worker.task_queue,
    )
    return arrival.key, arrival.etag, delivered


async def _view(shipment: str) -> service.ShipmentView | None:
    client = await _client()
    async with database_sessions() as sessions:
        return await service.shipment_view(sessions, client, shipment)


async def _client() -> Client:
    try:
        return await connect(settings(), retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None


def _show(view: service.ShipmentView) -> None:
    typer.echo(f"shipment {view.shipment_id}: {view.status}")
    typer.echo(f"  workflow     {view.workflow_id}")
    if view.missing:
        typer.echo(f"  missing      {', '.join(view.missing)}")
    for step in view.waiting:
        typer.echo(f"  waiting      {step} (answer with `stepwise decide {view.workflow_id} {step} ...`)")
    if view.reason:
        typer.echo(f"  reason       {view.reason}")
    for document in view.documents:
        reason = f": {document.reason}" if document.reason else ""
        typer.echo(f"  {document.doc_type:<8} {document.status}{reason} (etag {document.etag})")
        for field in document.fields:
            typer.echo(f"    {field.label:<22} {field.value or '-':<30} {field.provenance}")
    if view.processed_key:
        typer.echo(f"  record       {view.processed_key}")
