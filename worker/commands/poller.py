"""`stepwise poller start | status | jobs | schedule`: synchronise a partner's paged API.

The CLI acts as an operator and checks every request as the API does (registered URL, an
address the worker may reach, no redirect) before anything starts.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Annotated

import typer
from temporalio.client import Client, WorkflowExecutionStatus

from activities.poller.contracts import TASK_STATES, job_workflow_id, slice_workflow_id
from worker.commands.common import CliError, database_sessions, print_json, run, settings
from worker.commands.follow import EXIT_PARKED, Parked, parked_step, running_steps
from worker.services import poller as service
from worker.settings import namespace_refusal
from worker.temporal import FAIL_FAST, connect

app = typer.Typer(help="API poller: walk every page of a partner's API into partner_records.", no_args_is_help=True)
schedule_app = typer.Typer(help="Full synchronisations on a schedule, one per partner.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

START_NAMES = {"url": "URL", "partner": "--partner", "job_id": "--job-id"}
"""How ``start`` names each request field in an error (its URL is an argument)."""
SCHEDULE_NAMES = {"url": "--url", "partner": "--partner", "every": "--every"}
"""How ``schedule create`` names them (its URL is an option)."""
EXIT_REFUSED = 2
"""Refused, nothing started (as ``booking start``): a bad URL or option, a job id reused."""
COUNT_KEYS = [*TASK_STATES, "Total"]
POLL_SECONDS = 0.5


@app.command()
def start(
    url: Annotated[str, typer.Argument(help="The partner API's base URL (ending in '/').")],
    partner: Annotated[
        str, typer.Option(help="The partner whose API it is (registered in STEPWISE_POLLER__PARTNERS).")
    ],
    job_id: Annotated[
        str | None, typer.Option(help="Job id (default: a new one); the same id is the same job.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Show the counts until the job ends.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start a job; with --wait, print the counts as they change and exit non-zero unless it completed.

    Exit codes: 0 started (with --wait: every page stored), 1 an error, a failed job or failed
    pages, 5 a page waits for an operator (--wait; the page and the `stepwise decide` command are printed).
    """
    view = run(_start(url, partner, job_id or str(uuid.uuid4()), wait))
    _show(view, as_json)
    if wait and view.status != "COMPLETED":
        raise typer.Exit(1)


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(help="Poller job id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a job's counts (the article's task states) and its status, from Postgres."""
    _show(run(_status(job_id)), as_json)


@schedule_app.command("create")
def schedule_create(
    partner: Annotated[str, typer.Option(help="The partner (registered).")],
    url: Annotated[str, typer.Option(help="The partner API's base URL (ending in '/').")],
    every: Annotated[str, typer.Option(help="How often: 30m, 1h, 1d (from 1m to 31d).")],
) -> None:
    """Create (or replace) the partner's synchronisation schedule; overlapping runs are skipped."""
    schedule, created = run(_schedule_create(partner, url, every))
    verb = "created" if created else "replaced"
    typer.echo(f"schedule {schedule.schedule_id} {verb}: {schedule.url} every {schedule.every_seconds}s")


@schedule_app.command("list")
def schedule_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every partner's schedule, its next runs and recent jobs."""
    found = run(_schedules())
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no synchronisation schedules")
    for schedule in found:
        nxt = schedule.next_runs[0] if schedule.next_runs else "-"
        typer.echo(f"{schedule.partner:<20} every {schedule.every_seconds:>7}s  next {nxt}  {schedule.url}")


@schedule_app.command("delete")
def schedule_delete(partner: Annotated[str, typer.Option(help="The partner whose schedule to delete.")]) -> None:
    """Delete the partner's schedule (a job it started runs to its end)."""
    run(_schedule_delete(partner))
    typer.echo(f"schedule {service.schedule_id(partner)} deleted")


async def _client() -> Client:
    try:
        return await connect(settings(), retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None


def _refused(error: service.PollerRequestInvalid, names: dict[str, str]) -> CliError:
    return CliError(f"{names.get(error.field, error.field)}: {error.message}", exit_code=EXIT_REFUSED)


async def _start(url: str, partner: str, job_id: str, wait: bool) -> service.JobView:
    config = settings()
    request = service.job_request(config, partner, url, job_id)
    access = service.poller_access(config)
    try:
        # Checked before connecting, so a bad request fails fast even with Temporal down.
        refusal = namespace_refusal(job_id, config.api.partner_token_hashes)
        if refusal is not None:  # the CLI acts as an operator, whose ids stay out of partners' namespaces
            raise service.PollerRequestInvalid("job_id", refusal)
        await service.check_request(access, partner, url, job_id)
        client = await _client()
        submitted = await service.submit_job(client, config.worker.task_queue, access, request, owner=None)
    except service.PollerRequestInvalid as error:
        raise _refused(error, START_NAMES) from None
    except service.PollerJobConflict as conflict:
        raise CliError(str(conflict), exit_code=EXIT_REFUSED) from None
    if wait:
        await _follow(client, submitted.job_id)
    return await _view(client, submitted.job_id)


async def _follow(client: Client, job_id: str) -> None:
    """Print the counts each time they change; stop when the job closes or a page parks."""
    shown = ""
    workflow_id = job_workflow_id(job_id)
    handle = client.get_workflow_handle(workflow_id)
    async with database_sessions() as sessions:
        while True:
            view = await service.job_status(client, sessions, job_id)
            line = json.dumps({key: view.counts[key] for key in COUNT_KEYS})
            if line != shown:
                sys.stderr.write(f"{job_id}: {line}\n")
                sys.stderr.flush()
                shown = line
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
            parked = await _parked_page(client, workflow_id, job_id)
            if parked is not None:
                parked.report(sys.stderr)
                raise typer.Exit(EXIT_PARKED)
            await asyncio.sleep(POLL_SECONDS)


async def _parked_page(client: Client, workflow_id: str, job_id: str) -> Parked | None:
    """A parked step of the job, or of the slice it is running."""
    parked = await parked_step(client, workflow_id)
    if parked is not None:
        return parked
    for name in await running_steps(client, workflow_id):
        if name.startswith("slice:"):
            return await parked_step(client, slice_workflow_id(job_id, int(name.split(":", 1)[1])))
    return None


async def _status(job_id: str) -> service.JobView:
    return await _view(await _client(), job_id)


async def _view(client: Client, job_id: str) -> service.JobView:
    async with database_sessions() as sessions:
        try:
            return await service.job_status(client, sessions, job_id)
        except service.PollerJobNotFound:
            raise CliError(f"no poller job {job_id!r}") from None


async def _schedule_create(partner: str, url: str, every: str) -> tuple[service.SyncSchedule, bool]:
    config = settings()
    access = service.poller_access(config)
    try:
        interval = service.parse_every(every)
        await service.check_request(access, partner, url)
        return await service.create_schedule(await _client(), config, access, partner, url, interval)
    except service.PollerRequestInvalid as error:
        raise _refused(error, SCHEDULE_NAMES) from None


async def _schedules() -> list[service.SyncSchedule]:
    return await service.list_schedules(await _client())


async def _schedule_delete(partner: str) -> None:
    try:
        await service.delete_schedule(await _client(), partner)
    except service.ScheduleNotFound:
        raise CliError(f"no synchronisation schedule for {partner!r}") from None


def _show(view: service.JobView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    typer.echo(f"poller job {view.job_id}: {view.status}")
    typer.echo(json.dumps({key: view.counts[key] for key in COUNT_KEYS}))
    if view.reason:
        typer.echo(f"  failed: {view.reason}")
    if view.summary and view.summary.get("failures"):
        for failure in view.summary["failures"][:10]:
            typer.echo(f"  page {failure['page']}: {failure['error']}")
