"""`stepwise recon start|status`: reconcile a client's baseline and candidate versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from worker.commands.common import CliError, print_json, run, settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from temporalio.client import Client

    from activities.common.db import SessionMaker
    from worker.services.recon import ReconciliationView

app = typer.Typer(help="Reconcile a client's reports across two versions.", no_args_is_help=True)


@app.command()
def start(
    client: Annotated[str, typer.Option("--client", help="Client id (lower-case, digits, dashes).")],
    baseline: Annotated[str, typer.Option("--baseline", help="Version in production.")] = "v1",
    candidate: Annotated[str, typer.Option("--candidate", help="Version to migrate to.")] = "v2",
    run_label: Annotated[str, typer.Option("--run", help="Run label (default: from the time).")] = "",
    report: Annotated[
        list[str] | None, typer.Option("--report", help="Report to compare (repeat; default all).")
    ] = None,
    max_parallel: Annotated[int, typer.Option("--max-parallel", help="Comparisons in flight at most.")] = 5,
    tolerance: Annotated[str, typer.Option("--tolerance", help="Numeric tolerance.")] = "0.005",
    no_signoff: Annotated[bool, typer.Option("--no-signoff", help="Do not wait for sign-off.")] = False,
    snapshot_uri: Annotated[str, typer.Option("--snapshot-uri", help="s3:// SQL dump (default: demo).")] = "",
    packs_uri: Annotated[str, typer.Option("--report-packs-uri", help="s3:// report packs (default: demo).")] = "",
    provider: Annotated[str, typer.Option("--provider", help="local-postgres or aws-ssm.")] = "local-postgres",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until sign-off is requested or it ends.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.", min=1)] = 600.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start a reconciliation (id recon-<client>-<run>)."""
    from activities.common.resources import Resources
    from activities.recon.contracts import ReconciliationInput
    from worker.services.recon import InvalidReconciliationRequest, new_run_label, with_demo_defaults

    config = settings()
    request = with_demo_defaults(
        ReconciliationInput(
            client_id=client,
            baseline=baseline,
            candidate=candidate,
            run=run_label or new_run_label(),
            snapshot_uri=snapshot_uri,
            report_packs_uri=packs_uri,
            reports=list(report or []),
            max_parallel_comparisons=max_parallel,
            tolerance=tolerance,
            signoff_required=not no_signoff,
            provider=provider,
        ),
        Resources(prefix=config.aws.name_prefix),
    )

    async def go() -> tuple[str, ReconciliationView | None]:
        from worker.services.recon import start_reconciliation, wait_for_decision_point

        client_, sessions, close = await _connect()
        try:
            run_id = await start_reconciliation(client_, config.worker.task_queue, request)
            if not wait:
                return run_id, None
            return run_id, await wait_for_decision_point(client_, sessions, run_id, timeout)
        except InvalidReconciliationRequest as error:
            raise CliError(str(error), exit_code=2) from None
        except TimeoutError as error:
            raise CliError(str(error)) from None
        finally:
            await close()

    run_id, view = run(go())
    if view is None:
        if as_json:
            print_json({"run_id": run_id})
        else:
            typer.echo(run_id)
        return
    _show(view, as_json)


@app.command()
def status(
    run_id: Annotated[str, typer.Argument(help="The reconciliation's id (recon-<client>-<run>).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Phase, per-report results, and any step waiting for a human."""
    from worker.services.recon import ReconciliationNotFound, reconciliation_status

    async def go() -> ReconciliationView:
        client_, sessions, close = await _connect()
        try:
            return await reconciliation_status(client_, sessions, run_id)
        except ReconciliationNotFound as error:
            raise CliError(str(error), exit_code=3) from None
        finally:
            await close()

    _show(run(go()), as_json)


async def _connect() -> tuple[Client, SessionMaker, Callable[[], Awaitable[None]]]:
    """Temporal client, Postgres sessions, and how to close them."""
    from activities.common.db import create_engine, create_session_maker
    from worker.temporal import FAIL_FAST, connect

    config = settings()
    try:
        client = await connect(config, retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None
    engine = create_engine(config.require_database_url(), pool_size=2)
    return client, create_session_maker(engine), engine.dispose


def _show(view: ReconciliationView, as_json: bool) -> None:
    if as_json:
        print_json(view)
        return
    typer.echo(f"{view.run_id}  {view.execution}  phase={view.phase or '-'}  status={view.status or '-'}")
    for row in view.reports:
        columns = f"  columns={row['changed_columns']}" if row["changed_columns"] else ""
        typer.echo(
            f"  {row['report']}: {row['status']} (matched {row['matched']}, changed {row['changed']}, "
            f"missing {row['missing']}, extra {row['extra']}){columns}"
        )
    for waiting in view.waiting:
        typer.echo(f"  waiting: {waiting['workflow_id']} {waiting['step']} {waiting['error']}".rstrip())
    if view.summary_uri:
        typer.echo(f"  summary: {view.summary_uri}")
