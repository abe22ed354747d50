"""Top-level operator commands: `stepwise attention` and `stepwise decide`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from temporalio.client import Client

from worker.commands.common import CliError, print_json, run, settings

if TYPE_CHECKING:
    from activities.common.contracts import DecisionOutcome
    from worker.services.operations import AttentionItem


async def _client() -> Client:
    from worker.temporal import FAIL_FAST, connect

    try:
        return await connect(settings(), retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None


def attention(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List executions waiting for a human, across pipelines, oldest first."""
    from worker.services.operations import list_attention

    async def fetch() -> list[AttentionItem]:
        return await list_attention(await _client())

    items = run(fetch())
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("nothing is waiting for a human")
        return
    for item in items:
        error = f"  {item.error_type}: {item.error}" if item.error_type else ""
        typer.echo(
            f"{item.workflow_id}  {item.pipeline or '-'}  {item.step}  waiting {_duration(item.waiting_seconds)}{error}"
        )


def decide(
    workflow_id: Annotated[str, typer.Argument(help="Execution to decide on (see `stepwise attention`).")],
    step: Annotated[str, typer.Argument(help="The waiting step.")],
    action: Annotated[str, typer.Argument(help="retry, skip, abort, approve or reject.")],
    operator: Annotated[str, typer.Option("--operator", help="Who decides (audited).")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
    decision_id: Annotated[str, typer.Option("--decision-id", help="Idempotency key (default: a new one).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Retry, skip or abort a parked step; approve or reject a gate."""
    from activities.common.contracts import StepDecision
    from worker.services.operations import DecisionRejected, ExecutionNotFound, send_decision

    decision = StepDecision(
        step=step, action=action, operator=operator, reason=reason, decision_id=decision_id or str(uuid.uuid4())
    )

    async def send() -> DecisionOutcome:
        try:
            return await send_decision(await _client(), workflow_id, decision)
        except DecisionRejected as error:
            raise CliError(f"decision rejected: {error}", exit_code=2) from None
        except ExecutionNotFound as error:
            raise CliError(str(error), exit_code=3) from None

    outcome = run(send())
    if as_json:
        print_json(outcome)
    else:
        typer.echo(outcome.message)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def register(app: typer.Typer) -> None:
    """Add `attention` and `decide` to the top-level CLI."""
    app.command()(attention)
    app.command()(decide)
