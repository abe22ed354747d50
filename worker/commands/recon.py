"""`stepwise recon start|status|list|campaign`: reconcile clients' baseline and candidate versions."""

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
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until sign-off is requested, a step parks (exit 5) or it ends.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.", min=1)] = 600.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start a reconciliation (id recon-<client>-<run>)."""
    from activities.common.resources import Resources
    from activities.recon.contracts import ReconciliationInput
    from worker.services.recon import InvalidReconciliationRequest, check_request, new_run_label, with_demo_defaults

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
    try:
        check_request(request)  # before connecting: a bad option is named even with Temporal down
    except InvalidReconciliationRequest as error:
        raise CliError(str(error), exit_code=2) from None

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
    if view.waiting and view.execution == "RUNNING" and view.phase != "awaiting-signoff":
        # A parked step (not the sign-off --wait waits for): say what waits and exit distinctly.
        from worker.commands.follow import EXIT_PARKED

        for waiting in view.waiting:
            typer.echo(
                f"step {waiting['step']} of {waiting['workflow_id']} is waiting for an operator"
                f"{': ' + waiting['error'] if waiting['error'] else ''}",
                err=True,
            )
            typer.echo(
                f"decide with: stepwise decide {waiting['workflow_id']} {waiting['step']} "
                "retry|skip|abort --operator NAME --reason TEXT",
                err=True,
            )
        raise typer.Exit(EXIT_PARKED)


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


@app.command("list")
def list_runs(
    client: Annotated[str, typer.Option("--client", help="Only this client's runs.")] = "",
    status_: Annotated[str, typer.Option("--status", help="Only runs in this status (e.g. AWAITING_SIGNOFF).")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most runs, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reconciliation runs from Postgres, newest first."""
    from worker.commands.common import database_sessions
    from worker.services.recon_runs import RunRow
    from worker.services.recon_runs import list_runs as read_runs

    async def go() -> list[RunRow]:
        async with database_sessions() as sessions:
            return await read_runs(sessions, client_id=client, status=status_, limit=limit)

    rows = run(go())
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no reconciliation runs match")
    for row in rows:
        different = f"{row.reports_different}/{row.reports_total} different"
        signed = f"  signed off by {row.signoff_by}" if row.signoff_by else ""
        typer.echo(f"{row.run_id}  {row.status}  {row.baseline} -> {row.candidate}  {different}{signed}")


campaign_app = typer.Typer(help="Reconcile many clients, a bounded number at a time.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")


@campaign_app.command("start")
def start_campaign(
    campaign: Annotated[str, typer.Option("--campaign", help="Campaign label (lower-case, digits, dashes).")],
    clients: Annotated[list[str], typer.Option("--client", help="A client to reconcile (repeat for each).")],
    baseline: Annotated[str, typer.Option("--baseline", help="Version in production.")] = "v1",
    candidate: Annotated[str, typer.Option("--candidate", help="Version to migrate to.")] = "v2",
    run_label: Annotated[str, typer.Option("--run", help="Run label of every client (default: from the time).")] = "",
    max_parallel: Annotated[int, typer.Option("--max-parallel", help="Clients reconciling at once.")] = 10,
    no_signoff: Annotated[bool, typer.Option("--no-signoff", help="Do not wait for sign-off.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start a campaign (id recon-campaign-<campaign>); a client waiting for sign-off frees its slot."""
    from activities.common.resources import Resources
    from activities.recon.contracts import ReconciliationInput
    from worker.services.recon import InvalidReconciliationRequest, new_run_label, with_demo_defaults
    from worker.services.recon_runs import campaign_input
    from worker.services.recon_runs import start_campaign as start_it

    config = settings()
    template = with_demo_defaults(
        ReconciliationInput(
            client_id=clients[0] if clients else "",
            baseline=baseline,
            candidate=candidate,
            run=run_label or new_run_label(),
            snapshot_uri="",
            report_packs_uri="",
            signoff_required=not no_signoff,
        ),
        Resources(prefix=config.aws.name_prefix),
    )
    try:
        request = campaign_input(campaign, template, list(clients), max_parallel)
    except InvalidReconciliationRequest as error:
        raise CliError(str(error), exit_code=2) from None

    async def go() -> str:
        client_, _sessions, close = await _connect()
        try:
            return await start_it(client_, config.worker.task_queue, request)
        finally:
            await close()

    workflow_id = run(go())
    if as_json:
        print_json({"campaign": campaign, "workflow_id": workflow_id})
    else:
        typer.echo(workflow_id)


@campaign_app.command("status")
def campaign_status(
    campaign: Annotated[str, typer.Argument(help="The campaign's label.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each client's outcome so far, and the counts."""
    from worker.services.recon_runs import CampaignNotFound, CampaignView
    from worker.services.recon_runs import campaign_status as read_status

    async def go() -> CampaignView:
        client_, _sessions, close = await _connect()
        try:
            return await read_status(client_, campaign)
        except CampaignNotFound as error:
            raise CliError(str(error), exit_code=3) from None
        finally:
            await close()

    view = run(go())
    if as_json:
        print_json(view)
        return
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(view.counts.items()))
    typer.echo(f"{view.workflow_id}  {view.execution}  {counts}")
    for run_id, outcome in sorted(view.outcomes.items()):
        typer.echo(f"  {run_id}  {outcome}")
