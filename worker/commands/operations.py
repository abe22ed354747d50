"""Top-level operator commands: `stepwise attention` and `stepwise decide`."""

from __future__ import annotations

import datetime
import math
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from temporalio.client import Client

from worker.commands.common import CliError, print_json, run, settings
from worker.settings import LONGEST_WAIT_SECONDS

if TYPE_CHECKING:
    from activities.common.contracts import DecisionOutcome
    from worker.services.audit import AuditedDecision
    from worker.services.operations import AttentionFilter, AttentionItem, BulkOutcome


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
    from worker.services.operations import list_attention, waited

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
            f"{item.workflow_id}  {item.pipeline or '-'}  {item.step}  waiting {waited(item.waiting_seconds)}{error}"
        )


def decide(
    workflow_id: Annotated[str, typer.Argument(help="Execution to decide on (see `stepwise attention`).")] = "",
    step: Annotated[str, typer.Argument(help="The waiting step.")] = "",
    action: Annotated[str, typer.Argument(help="retry, skip, abort, approve or reject.")] = "",
    operator: Annotated[str, typer.Option("--operator", help="Who decides (audited).")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
    decision_id: Annotated[str, typer.Option("--decision-id", help="Idempotency key (default: a new one).")] = "",
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer",
            help="approve at a gate with a form: NAME=VALUE for one field (repeat it for every field; "
            "the extracted value confirms it, another value corrects it).",
        ),
    ] = None,
    query: Annotated[
        str,
        typer.Option(
            "--query",
            help="Bulk: decide every waiting execution matching 'pipeline=b2b step=enrich "
            "error_type=PartnerUnavailable min_age=10m' (any of the four; step may end in *).",
        ),
    ] = "",
    bulk_action: Annotated[str, typer.Option("--action", help="Bulk: the action for every match.")] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Bulk: apply; without it the matches are only listed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Retry, skip or abort a parked step; approve or reject a gate — one execution, or all matching --query."""
    answers = parse_answers(answer or [])
    if query:
        if answers:
            raise CliError("--answer applies to one gate: give WORKFLOW_ID STEP approve, not --query")
        if workflow_id or step or action:
            raise CliError("--query decides in bulk: give the action with --action, not as arguments")
        _decide_in_bulk(query, bulk_action, operator, reason, decision_id, yes=yes, as_json=as_json)
        return
    if not (workflow_id and step and action):
        raise CliError("give WORKFLOW_ID STEP ACTION, or --query FILTER --action ACTION for a bulk decision")
    from activities.common.contracts import StepDecision
    from worker.services.operations import DecisionRejected, ExecutionNotFound, send_decision

    decision = StepDecision(
        step=step,
        action=action,
        operator=operator,
        reason=reason,
        decision_id=decision_id or str(uuid.uuid4()),
        answers=answers,
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


def parse_answers(items: list[str]) -> dict[str, str]:
    """``--answer name=value`` options as a dict (CliError names a malformed or repeated one).

    The gate's rule (``workflows.common.form_answers``, as the API's): at most 50 answers,
    names up to 64 characters, values up to 500, no control character or line break in either.
    """
    from workflows.common.form_answers import MAX_ANSWER, MAX_ANSWER_NAME, MAX_ANSWERS, refused_character

    answers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CliError(f"--answer must be NAME=VALUE (got {item!r})")
        shown = repr(name[:20]) + ("..." if len(name) > 20 else "")
        if len(name) > MAX_ANSWER_NAME:
            raise CliError(f"--answer {shown}: a field name has at most {MAX_ANSWER_NAME} characters")
        if len(value) > MAX_ANSWER:
            raise CliError(f"--answer {shown}: a value has at most {MAX_ANSWER} characters (got {len(value)})")
        refused = refused_character(item)  # before the name's surrounding spaces were stripped
        if refused is not None:
            raise CliError(f"--answer {shown}: {refused}")
        if name in answers:
            raise CliError(f"--answer {name} is given twice")
        answers[name] = value
    if len(answers) > MAX_ANSWERS:
        raise CliError(f"at most {MAX_ANSWERS} --answer options (got {len(answers)})")
    return answers


QUERY_KEYS = ("pipeline", "step", "error_type", "min_age")
"""What a bulk --query may filter on."""


def parse_query(text: str) -> AttentionFilter:
    """``pipeline=b2b step=enrich error_type=X min_age=10m`` as a filter (CliError names a bad part)."""
    from worker.services.operations import AttentionFilter

    values: dict[str, str] = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if not sep or key not in QUERY_KEYS or not value:
            raise CliError(f"--query: {part!r} is not one of {', '.join(k + '=VALUE' for k in QUERY_KEYS)}")
        values[key] = value
    selection = AttentionFilter(
        pipeline=values.get("pipeline", ""),
        step=values.get("step", ""),
        error_type=values.get("error_type", ""),
        min_age_seconds=_seconds(values["min_age"]) if "min_age" in values else 0.0,
    )
    if selection.is_empty:  # nothing given, or only min_age=0: it would cover every waiting execution
        raise CliError("--query: give at least one of " + ", ".join(QUERY_KEYS) + " (min_age above 0)")
    return selection


MAX_MIN_AGE_SECONDS = LONGEST_WAIT_SECONDS
"""The longest min_age, as the API's selection allows."""


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_MIN_AGE_SECONDS:  # also refuses nan
        raise CliError(f"--query: min_age={text!r} is not a duration from 0s to 366d, such as 90s, 10m, 2h, 1d")
    return seconds


def _decide_in_bulk(
    query: str, action: str, operator: str, reason: str, batch_id: str, *, yes: bool, as_json: bool
) -> None:
    from activities.common.contracts import ACTIONS
    from worker.services.operations import decide_many, find_attention

    selection = parse_query(query)
    if action not in ACTIONS:
        raise CliError(f"--action: must be one of {', '.join(ACTIONS)} (got {action!r})")
    if yes and not operator.strip():
        raise CliError("--operator: required (audited with each decision)")

    async def go() -> tuple[list[AttentionItem], list[BulkOutcome]]:
        client = await _client()
        items = await find_attention(client, selection)
        if not yes:
            return items, []
        outcomes = await decide_many(
            client,
            items,
            action=action,
            operator=operator,
            reason=reason,
            batch_id=batch_id or f"cli-bulk-{uuid.uuid4()}",
        )
        return items, outcomes

    items, outcomes = run(go())
    if as_json:
        print_json({"matched": items, "outcomes": outcomes})
    elif not yes:
        for item in items:
            typer.echo(f"{item.workflow_id}  {item.pipeline}  {item.step}  {item.error_type}")
        typer.echo(f"{len(items)} match; add --yes to {action} each of them")
    else:
        for outcome in outcomes:
            answer = "accepted" if outcome.accepted else "refused"
            typer.echo(f"{outcome.workflow_id}  {outcome.step}  {answer}: {outcome.message}")
        accepted = sum(1 for o in outcomes if o.accepted)
        typer.echo(f"{accepted} accepted, {len(outcomes) - accepted} refused")
    if any(not o.accepted for o in outcomes):
        raise typer.Exit(2)


def decisions(
    workflow_id: Annotated[str, typer.Option("--workflow", help="Only this execution.")] = "",
    pipeline: Annotated[str, typer.Option("--pipeline", help="Only this pipeline.")] = "",
    operator: Annotated[str, typer.Option("--operator", help="Only this operator's decisions.")] = "",
    since: Annotated[str, typer.Option("--since", help="Decided at or after (ISO 8601).")] = "",
    until: Annotated[str, typer.Option("--until", help="Decided before (ISO 8601).")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most rows, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """The decision log: every decision and redrive, who made it and what came of it (newest first)."""
    from worker.commands.common import database_sessions
    from worker.services.audit import DecisionFilter, list_decisions

    selection = DecisionFilter(workflow_id, pipeline, operator, _time("--since", since), _time("--until", until), limit)

    async def read() -> list[AuditedDecision]:
        async with database_sessions() as sessions:
            return await list_decisions(sessions, selection)

    rows = run(read())
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no decisions match")
    for row in rows:
        why = f"  {row.reason}" if row.reason else ""
        outcome = row.outcome if not row.rejection else f"{row.outcome} ({row.rejection})"
        typer.echo(
            f"{row.decided_at:%Y-%m-%d %H:%M:%S}  {row.operator}  {row.workflow_id}  {row.step}  "
            f"{row.action}  {outcome}{why}"
        )
        for name, value in sorted((row.answers or {}).items()):  # a form's answers, one per line
            typer.echo(f"    {name} = {value}")


def _time(option: str, text: str) -> datetime.datetime | None:
    from worker.services.audit import parse_time

    try:
        return parse_time(text)
    except ValueError:
        raise CliError(f"{option}: {text!r} is not an ISO 8601 time such as 2026-12-05T08:00") from None


dead_letters_app = typer.Typer(help="What the dead-letter queues hold, and redrive.", no_args_is_help=True)


@dead_letters_app.command("list")
def list_dead_letters(
    pipeline: Annotated[str, typer.Argument(help="booking, media, b2b, b2b-intake or recon.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages as JSON.")] = False,
) -> None:
    """The pipeline's dead-letter messages, read without consuming them."""
    from activities.common.aws import AwsClients
    from activities.common.resources import Resources
    from worker.services.dead_letters import peek, queues

    resources = Resources(prefix=settings().aws.name_prefix)
    if pipeline not in queues(resources):
        raise CliError(f"pipeline: must be one of {', '.join(queues(resources))} (got {pipeline!r})")
    letters = run(peek(AwsClients(), resources, pipeline))
    if as_json:
        print_json(letters)
        return
    if not letters:
        typer.echo(f"{pipeline}'s dead-letter queue is empty")
    for letter in letters:
        can = "redrivable" if letter.redrivable else f"not redrivable: {letter.not_redrivable_because}"
        typer.echo(f"{letter.message_id}  {letter.business_key}  {letter.failed_step}  {letter.error_type}  {can}")


@dead_letters_app.command("redrive")
def redrive_dead_letter(
    pipeline: Annotated[str, typer.Argument(help="The pipeline whose queue holds the message.")],
    message_id: Annotated[str, typer.Argument(help="The message (see `stepwise dead-letters list`).")],
    operator: Annotated[str, typer.Option("--operator", help="Who redrives (audited).")] = "",
) -> None:
    """Start the failed case again with the same input and key, audit it, then remove the message."""
    from activities.common.aws import AwsClients
    from activities.common.resources import Resources
    from worker.commands.common import database_sessions
    from worker.services.dead_letters import DeadLetterNotFound, Redriven, RedriveRefused, queues, redrive

    if not operator.strip():
        raise CliError("--operator: required (audited)")
    config = settings()
    resources = Resources(prefix=config.aws.name_prefix)
    if pipeline not in queues(resources):
        raise CliError(f"pipeline: must be one of {', '.join(queues(resources))} (got {pipeline!r})")

    async def go() -> Redriven:
        async with database_sessions() as sessions:
            try:
                return await redrive(
                    await _client(),
                    AwsClients(),
                    sessions,
                    resources,
                    pipeline=pipeline,
                    message_id=message_id,
                    operator=operator,
                    task_queue=config.worker.task_queue,
                    via="cli",
                )
            except RedriveRefused as error:
                raise CliError(f"not redrivable: {error}", exit_code=2) from None
            except DeadLetterNotFound as error:
                raise CliError(str(error), exit_code=3) from None

    done = run(go())
    typer.echo(f"{done.workflow_id} started again (run {done.run_id}); message {done.message_id} removed")


def register(app: typer.Typer) -> None:
    """Add `attention`, `decide`, `decisions` and `dead-letters` to the top-level CLI."""
    app.command()(attention)
    app.command()(decide)
    app.command()(decisions)
    app.add_typer(dead_letters_app, name="dead-letters")
