"""`stepwise translation submit | status | fetch`: translation projects from a folder to delivered files.

The CLI acts as an operator: it submits for any customer and reads every project. A
project id is ``<customer>-<project>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import Client

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.translation.contracts import (
    project_id,
    project_workflow_id,
    split_project_id,
    valid_customer,
    valid_project,
)
from worker.commands.common import CliError, database_sessions, print_json, run, settings
from worker.services import translation as service
from worker.temporal import FAIL_FAST, connect

app = typer.Typer(
    help="Translation projects: XLIFF files through Amazon Translate, a review, and delivery.", no_args_is_help=True
)


@app.command()
def submit(
    folder: Annotated[
        Path,
        typer.Argument(
            help="The project's files: XLIFF at the top, terminology in terminology/, translation memory in memory/."
        ),
    ],
    customer: Annotated[str, typer.Option(help="Customer id (lowercase letters, digits, '_').")],
    project: Annotated[str, typer.Option(help="Project name, unique per customer.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Upload every file of FOLDER to the project and start it (or add to it); names starting with '.' are left out."""
    if not valid_customer(customer):
        raise CliError(f"--customer: {customer!r} is not a customer id (lowercase letters, digits, '_'; no '-')")
    if not valid_project(project):
        raise CliError(f"--project: {project!r} is not a project name (letters, digits, '_', '-'; up to 64)")
    files = _project_files(folder, settings().translation.max_files)
    keys, workflow_id = run(_submit(customer, project, files))
    pid = project_id(customer, project)
    if as_json:
        print_json({"project_id": pid, "workflow_id": workflow_id, "files": keys})
        return
    typer.echo(f"project {pid}: {len(keys)} files uploaded, workflow {workflow_id}")
    typer.echo(f"follow it with `stepwise translation status {pid}`")


@app.command()
def status(
    project: Annotated[str, typer.Argument(help="Project id, <customer>-<project>.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a project's status and cost, each language pair, and the files refused into quarantine."""
    customer, name = _split(project)
    view = run(_view(customer, name))
    if view is None:
        raise CliError(f"no translation project {project!r}")
    if as_json:
        print_json(view.as_json())
    else:
        _show(view)


@app.command()
def fetch(
    project: Annotated[str, typer.Argument(help="Project id, <customer>-<project>.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write <target>/<file> into.")],
) -> None:
    """Download the project's delivered translations into OUT/<target>/<file>."""
    customer, name = _split(project)
    delivered = run(service.outbound_files(AwsClients(), _resources(), customer, name))
    if not delivered:
        raise CliError(f"nothing delivered yet for translation project {project!r}")
    root = out.resolve()
    for relative, data in delivered:
        path = (root / relative).resolve()
        if not path.is_relative_to(root):  # a key is S3's, not ours: never write outside OUT
            raise CliError(f"{relative}: not a file name inside {out}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    typer.echo(f"{len(delivered)} files written to {out}")


def _split(value: str) -> tuple[str, str]:
    parts = split_project_id(value)
    if parts is None:
        raise CliError(f"{value!r} is not a project id (<customer>-<project>)")
    return parts


def _project_files(folder: Path, max_files: int) -> list[tuple[str, Path]]:
    """Every file of ``folder`` by its name in the project, all names checked before anything is read."""
    if not folder.is_dir():
        raise CliError(f"{folder}: no such directory")
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_dir() or any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file():  # a FIFO or a device would block the read, a broken link fail it
            raise CliError(f"{folder}: {relative.as_posix()} is not a regular file")
        try:
            files.append((service.check_file_name(relative.as_posix()), path))
        except service.InvalidFileName as error:
            raise CliError(f"{folder}: {error}") from None
    if not files:
        raise CliError(f"{folder}: no files to submit")
    if len(files) > max_files:
        raise CliError(f"{folder}: {len(files)} files, a project has at most {max_files}")
    return files


async def _submit(customer: str, project: str, files: list[tuple[str, Path]]) -> tuple[list[str], str]:
    config = settings()
    client = await _client()  # before writing anything: with Temporal down nothing is half submitted
    resources = _resources()
    closed = await service.closed_reason(client, customer, project)
    if closed is not None:
        raise CliError(closed)
    contents = [(name, path.read_bytes()) for name, path in files]
    keys = await service.upload_files(AwsClients(), resources, customer, project, contents)
    request = service.project_request(config, resources, customer, project, owner=None)
    # One signal for the upload (each file's S3 event signals too): reading waits for quiet.
    await service.signal_project(client, request, keys[-1], config.worker.task_queue)
    return keys, project_workflow_id(customer, project)


async def _view(customer: str, project: str) -> service.ProjectView | None:
    client = await _client()
    async with database_sessions() as sessions:
        return await service.project_view(sessions, client, _resources(), customer, project)


async def _client() -> Client:
    try:
        return await connect(settings(), retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None


def _resources() -> Resources:
    return Resources(prefix=settings().aws.name_prefix)


def _show(view: service.ProjectView) -> None:
    typer.echo(f"translation project {view.project_id}: {view.status}")
    typer.echo(f"  workflow     {view.workflow_id}")
    typer.echo(f"  files        {view.files} ({len(view.quarantined)} quarantined)")
    typer.echo(f"  characters   {view.characters}")
    typer.echo(f"  cost         {view.cost_usd} USD")
    if view.reviewed_by:
        comment = f": {view.review_comment}" if view.review_comment else ""
        typer.echo(f"  reviewed by  {view.reviewed_by}{comment}")
    if view.reason:
        typer.echo(f"  reason       {view.reason}")
    if view.pairs:
        typer.echo(f"  {'pair':<12} {'state':<16} {'segments':>8} {'flagged':>8} {'characters':>10} {'cost USD':>9}")
        for pair in view.pairs:
            name = f"{pair.source_language}-{pair.target_language}"
            cost = pair.cost_usd or "-"
            typer.echo(
                f"  {name:<12} {pair.state:<16} {pair.segments:>8} {pair.flagged:>8} {pair.characters:>10} {cost:>9}"
            )
            if pair.reason:
                typer.echo(f"    {pair.reason}")
    for refused in view.quarantined:
        typer.echo(f"  quarantined  {refused.name}: {refused.reason or 'no reason recorded'}")
    for late in view.late_files:
        typer.echo(f"  too late     {late} (arrived after the project was read; not translated)")
    if view.status == "DELIVERED":
        typer.echo(f"  outbound     {view.outbound_prefix}")
