"""`stepwise`: run the processes, operate the pipelines, check the wiring.

Every error is one line on stderr and a non-zero exit; set ``STEPWISE_DEBUG=1`` for
the traceback. An unreachable Temporal or PostgreSQL is named with its address
("Temporal at 127.0.0.1:7233 is not reachable"), exit 1.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import TYPE_CHECKING, Annotated

import click
import typer

from worker.commands.common import CliError, print_json, run, settings
from worker.settings import SettingsError
from worker.telemetry import shutdown_telemetry

if TYPE_CHECKING:
    from activities.doctor.contracts import DoctorReport

app = typer.Typer(
    name="stepwise",
    help="Durable business pipelines on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


@app.command()
def dev(
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the state dir and start empty.")] = False,
) -> None:
    """Run the whole system on loopback: Temporal, Postgres, AWS emulator, worker, API."""
    import signal

    from worker.devstack.stack import DevStack, interrupt_on_sigterm

    signal.signal(signal.SIGTERM, interrupt_on_sigterm)  # before anything starts: stopping covers start-up too
    stack = DevStack(settings(), fresh=fresh)
    try:
        typer.echo("Starting the embedded stack...", err=True)
        stack.start()
        typer.echo(stack.table())
        stack.wait()
    finally:
        typer.echo("Stopping...", err=True)
        stack.stop()


@app.command()
def worker() -> None:
    """Run a worker: poll the task queue until SIGTERM, then drain and exit 0."""
    from worker.main import run_worker

    run(run_worker(settings()))


@app.command()
def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    from worker.api.main import run_api

    run_api(settings())


@app.command()
def migrate() -> None:
    """Bring the Postgres schema to the newest revision."""
    from worker.migrate import upgrade_head

    upgrade_head(settings().require_database_url())
    typer.echo("schema is at the newest revision")


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the report.", min=1)] = 60.0,
) -> None:
    """Check every dependency through a diagnostic workflow on the running worker."""
    report = run(_doctor(timeout))
    if as_json:
        print_json(report)
    else:
        width = max(len(check.dependency) for check in report.checks)
        for check in report.checks:
            typer.echo(f"{check.dependency.ljust(width)}  {'OK   ' if check.ok else 'ERROR'}  {check.detail}")
    if not report.healthy:
        raise typer.Exit(1)


async def _doctor(timeout: float) -> DoctorReport:
    import asyncio
    from datetime import timedelta

    from activities.doctor.contracts import ProbeInput
    from worker.temporal import FAIL_FAST, connect
    from workflows.doctor.workflow import DoctorWorkflow

    config = settings()
    try:
        client = await connect(config, retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None
    probe_id = f"doctor-{uuid.uuid4()}"
    try:
        report: DoctorReport = await asyncio.wait_for(
            client.execute_workflow(
                DoctorWorkflow.run,
                ProbeInput(probe_id),
                id=probe_id,
                task_queue=config.worker.task_queue,
                execution_timeout=timedelta(seconds=timeout),
            ),
            timeout,
        )
    except TimeoutError:
        raise CliError(f"no worker answered on task queue {config.worker.task_queue!r} within {timeout:.0f}s") from None
    return report


def _register_groups() -> None:
    from worker.commands import GROUPS, operations

    operations.register(app)

    for name, group in GROUPS.items():
        app.add_typer(group, name=name)


def main() -> None:
    """Entry point: run the CLI, turning every failure into one line."""
    code = _run_cli()
    # os._exit skips atexit, where OpenTelemetry would flush its batch of spans: flush first.
    shutdown_telemetry()
    # Leave without interpreter finalisation: the Temporal SDK's native threads may still be
    # writing to stderr, and a daemon thread holding that lock aborts a normal shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_cli() -> int:
    _register_groups()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=sys.argv[1:], prog_name="stepwise", standalone_mode=False)
    except (typer.Exit, click.exceptions.Exit) as done:
        return int(done.exit_code)
    except (typer.Abort, click.exceptions.Abort, KeyboardInterrupt):
        return 130
    except (CliError, SettingsError) as error:
        return _fail(str(error), getattr(error, "exit_code", 2))
    except Exception as error:
        if os.environ.get("STEPWISE_DEBUG"):
            raise
        if hasattr(error, "format_message") and hasattr(error, "exit_code"):
            # Click's usage errors (Typer vendors its own Click, so match by interface).
            if type(error).__name__ == "NoArgsIsHelpError":
                typer.echo(error.format_message())
                return 0
            return _fail(error.format_message(), error.exit_code)
        outage = _outage(error) or _unready(error)
        if outage is not None:
            return _fail(outage, 1)
        return _fail(f"{type(error).__name__}: {error}", 1)
    return result if isinstance(result, int) else 0


def _outage(error: Exception) -> str | None:
    """The one line for an unreachable Temporal or PostgreSQL, else None."""
    from worker.outages import outage_of

    try:
        outage = outage_of(error, settings())
    except SettingsError:
        return None
    return None if outage is None else str(outage)


UNDEFINED_TABLE = "42P01"
"""PostgreSQL's SQLSTATE for a table that does not exist: the database was never migrated."""


def _unready(error: Exception) -> str | None:
    """One line for a database without Stepwise's tables or an AWS endpoint that does not answer."""
    from sqlalchemy.exc import ProgrammingError
    from temporalio.exceptions import ApplicationError

    from activities.common.contracts import AWS_CONNECTION_ERROR
    from worker.outages import postgres_address

    if isinstance(error, ProgrammingError) and getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE:
        try:
            where = postgres_address(settings())
        except SettingsError:
            where = "STEPWISE_DATABASE_URL"
        return f"PostgreSQL at {where} has no Stepwise tables: run `stepwise migrate`"
    if isinstance(error, ApplicationError) and error.type == AWS_CONNECTION_ERROR:
        operation = error.message.split(":", 1)[0]  # "s3.put_object: Could not connect to ..."
        return f"AWS at {os.environ.get('AWS_ENDPOINT_URL') or 'its endpoint'} is not reachable ({operation})"
    return None


def _fail(message: str, exit_code: int) -> int:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    typer.echo(f"stepwise: {lines[0] if lines else 'failed'}", err=True)
    return exit_code


if __name__ == "__main__":
    main()
