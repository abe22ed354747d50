"""`stepwise b2b upload | status | batch`: drop a partner file, read transactions and batches."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from activities.b2b.records import valid_partner_id
from activities.common.aws import AwsClients
from activities.common.resources import Resources
from worker.commands.common import CliError, database_sessions, print_json, run, settings
from worker.services import b2b as service

app = typer.Typer(help="B2B integration: partner files and transactions.", no_args_is_help=True)

BATCH_DONE = ("COMPLETED", "QUARANTINED")


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="The partner's XML transactions file.")],
    partner: Annotated[str, typer.Option(help="Partner id; the file goes to b2b-inbound/<partner>/.")],
    name: Annotated[str | None, typer.Option(help="Object name (default: the file's name).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the batch to finish (0: do not wait).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Put a file where the intake picks it up (what the SFTP front door does in production)."""
    _check_partner(partner)
    if file.is_dir():
        raise CliError(f"{file}: is a folder; give one XML file")
    if not file.is_file():
        raise CliError(f"{file}: no such file")
    if name is not None and not _plain_object_name(name):
        raise CliError(f"--name: {name!r} is not a plain object name (no '/', '.' or '..', no control character)")
    if name is None and not _plain_object_name(file.name):
        raise CliError(f"{file.name!r} cannot be an object name: give one with --name")
    uploaded = run(service.upload_file(AwsClients(), _resources(), partner, file, name))
    batch = run(_wait_for_batch(partner, uploaded.batch_id, wait)) if wait > 0 else None
    if as_json:
        print_json({"upload": uploaded, "batch": batch})
        return
    typer.echo(f"uploaded s3://{uploaded.bucket}/{uploaded.key} (ETag {uploaded.etag})")
    typer.echo(f"batch {uploaded.batch_id}: follow it with `stepwise b2b batch {partner} {uploaded.batch_id}`")
    if batch is not None:
        _show_batch(batch)


@app.command()
def status(
    partner: Annotated[str, typer.Argument(help="Partner id.")],
    transaction_id: Annotated[str, typer.Argument(help="The partner's TransactionID.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a transaction's status and status trail."""
    _check_partner(partner)
    found = run(_read(lambda sessions: service.get_transaction(sessions, partner, transaction_id)))
    if found is None:
        raise CliError(f"no transaction {transaction_id} for partner {partner}")
    if as_json:
        print_json(found)
        return
    typer.echo(f"transaction {found.transaction_id} of {found.partner_id}: {found.status}")
    if found.from_user_id:
        typer.echo(f"  users     {found.from_user_id} -> {found.to_user_id}")
    if found.reason:
        typer.echo(f"  reason    {found.reason}")
    typer.echo(f"  source    {found.source}{f' (batch {found.batch_id})' if found.batch_id else ''}")
    typer.echo("  trail     " + " -> ".join(entry["status"] for entry in found.history))


@app.command()
def batch(
    partner: Annotated[str, typer.Argument(help="Partner id.")],
    batch_id: Annotated[str, typer.Argument(help="Batch id (printed by `stepwise b2b upload`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a batch file's status, counts and rejected records."""
    _check_partner(partner)
    found = run(_read(lambda sessions: service.get_batch(sessions, partner, batch_id)))
    if found is None:
        raise CliError(f"no batch {batch_id} for partner {partner}")
    if as_json:
        print_json(found)
    else:
        _show_batch(found)


def _show_batch(found: service.BatchView) -> None:
    typer.echo(f"batch {found.batch_id} of {found.partner_id}: {found.status}  ({found.object_key})")
    typer.echo(
        f"  records {found.records}  accepted {found.accepted}  duplicates {found.duplicates}  invalid {found.invalid}"
    )
    if found.report:
        report = found.report
        typer.echo(
            f"  stored {report['stored']}  quarantined {report['quarantined']}  failed {report['failed']}  "
            f"already received {report['already_received']}  conflicts {report['conflicts']}"
        )
    if found.reason:
        typer.echo(f"  reason  {found.reason}")
    for rejected in found.rejected:
        typer.echo(f"  rejected #{rejected['index']} {rejected['transaction_id'] or '-'}: {rejected['reason']}")


def _plain_object_name(name: str) -> bool:
    """One object in the partner's folder: at most 255 characters, no '/', not '.' or '..', one line."""
    printable = not any(ord(character) < 0x20 or ord(character) == 0x7F for character in name)
    return 0 < len(name) <= 255 and "/" not in name and name not in (".", "..") and printable


def _check_partner(partner: str) -> None:
    if not valid_partner_id(partner):
        raise CliError(f"partner: {partner!r} is not a partner id (lowercase letters, digits, '_'; not 'batch')")


def _resources() -> Resources:
    return Resources(prefix=settings().aws.name_prefix)


async def _read(query: Any) -> Any:
    async with database_sessions() as sessions:
        return await query(sessions)


async def _wait_for_batch(partner: str, batch_id: str, seconds: float) -> service.BatchView | None:
    deadline = time.monotonic() + seconds
    async with database_sessions() as sessions:
        while True:
            found = await service.get_batch(sessions, partner, batch_id)
            if found is not None and found.status in BATCH_DONE:
                return found
            if time.monotonic() > deadline:
                raise CliError(f"batch {batch_id} not finished within {seconds:.0f}s (is a worker running?)")
            await asyncio.sleep(0.5)
