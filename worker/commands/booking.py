"""`stepwise booking start | status | cancel`.

Once Temporal has accepted a booking's start, `start` reports the booking as started
(exit 0 with its id) whatever happens to the progress read that follows: a client that
trusts the exit code must never retry a booking that is running. Exit codes of `start`:
0 started (or, with ``--wait``, confirmed), 1 an error, 2 a refused request (nothing
started), 3 the saga failed, 4 it was cancelled, 5 a step waits for an operator.
"""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from decimal import Decimal
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError

from activities.booking.contracts import BookingRequest
from activities.common.aws import AwsClients
from activities.common.db import create_engine, create_session_maker
from activities.common.resources import Resources
from worker.api.fields import Line
from worker.commands.common import CliError, print_json, run, settings
from worker.services import booking as bookings
from worker.services.booking_checks import InvalidBooking, check_amount_text, check_currency, validate_booking
from worker.settings import namespace_refusal
from worker.temporal import FAIL_FAST, connect

app = typer.Typer(help="Flight bookings (the ProcessBooking saga).", no_args_is_help=True)

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")

EXIT_FAILED = 3
"""`start --wait`: the saga failed (and was compensated)."""
EXIT_CANCELLED = 4
"""`start --wait`: the booking was cancelled before confirmation."""
PROGRESS_READ_SECONDS = 5.0
"""How long `start` waits for the first progress read; the booking is started either way."""


@app.command()
def start(
    flight: Annotated[str, typer.Option(help="Outbound flight id, e.g. FL-100.")],
    customer: Annotated[str, typer.Option(help="Customer id.")],
    amount: Annotated[str, typer.Option(help="Price, e.g. 120.00.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR.")],
    payment_token: Annotated[str, typer.Option(help="Payment provider token.")] = "tok_visa",  # noqa: S107
    return_flight: Annotated[str | None, typer.Option(help="Optional return flight id.")] = None,
    request_id: Annotated[str | None, typer.Option(help="Idempotency key (default: a new one).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the saga to end.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Book a seat: reserve, charge, confirm, notify; compensated on failure.

    Exit codes: 0 started (with --wait: confirmed), 1 error, 2 refused (nothing started),
    3 the saga failed (--wait), 4 the booking was cancelled (--wait), 5 a step waits for an
    operator (--wait; the step, its error and the `stepwise decide` command are printed).
    """
    request = BookingRequest(
        request_id=_operators_id("--request-id", request_id or str(uuid.uuid4())),
        customer_id=_required("--customer", customer),
        outbound_flight_id=_id("--flight", flight),
        return_flight_id=_id("--return-flight", return_flight) if return_flight else None,
        amount=_amount(amount),
        currency=_currency(currency),
        payment_token=_required("--payment-token", payment_token),
    )
    view, exit_code = run(_start(request, wait))
    _show(view, as_json)
    if exit_code:
        raise typer.Exit(exit_code)


@app.command()
def status(
    booking_id: Annotated[str, typer.Argument(help="Booking (request) id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a booking's status and the saga's progress."""
    _show(run(_status(booking_id)), as_json)


@app.command()
def cancel(
    booking_id: Annotated[str, typer.Argument(help="Booking (request) id.")],
    reason: Annotated[str, typer.Option(help="Why the customer cancels.")] = "cancelled by customer",
) -> None:
    """Cancel a booking before it is confirmed."""
    run(_cancel(booking_id, reason))
    typer.echo(f"cancellation of {booking_id} accepted; compensations are running")


async def _start(request: BookingRequest, wait: bool) -> tuple[bookings.BookingView, int]:
    """Start (or find) the booking; its view and the exit code."""
    config = settings()
    try:
        await validate_booking(AwsClients(), Resources(prefix=config.aws.name_prefix), request)
    except InvalidBooking as refused:
        raise CliError(f"refused, nothing started: {refused}", exit_code=2) from None
    client = await _client()
    try:
        submitted = await bookings.submit_booking(client, config.worker.task_queue, request)
    except bookings.BookingConflict as conflict:
        raise CliError(str(conflict), exit_code=2) from None
    exit_code = await _outcome(client, submitted.workflow_id) if wait else 0
    return await _started_view(client, submitted), exit_code


async def _outcome(client: Client, workflow_id: str) -> int:
    """Wait for the saga to end: 0 confirmed, EXIT_FAILED, EXIT_CANCELLED, or EXIT_PARKED at a park."""
    from worker.commands.follow import EXIT_PARKED, follow

    parked = await follow(client, workflow_id)
    if parked is not None:
        parked.report(sys.stderr)
        return EXIT_PARKED
    try:
        ended = await client.get_workflow_handle(workflow_id).result()
    except WorkflowFailureError as failure:
        return EXIT_CANCELLED if isinstance(failure.cause, CancelledError) else EXIT_FAILED
    status = ended.get("status") if isinstance(ended, dict) else None
    return 0 if status == "CONFIRMED" else EXIT_CANCELLED


async def _started_view(client: Client, submitted: bookings.Submitted) -> bookings.BookingView:
    """The booking's view, or a bare PENDING one when it cannot be read in time.

    The start was accepted, so whatever the read does (no worker answers the progress
    query, Postgres is slow, the row does not exist yet) the booking is reported started.
    """
    try:
        return await asyncio.wait_for(_view(client, submitted.booking_id), PROGRESS_READ_SECONDS)
    except Exception:  # any failure of the read: the booking was started, and that is the answer
        return bookings.BookingView(submitted.booking_id, submitted.workflow_id, status="PENDING")


async def _status(booking_id: str) -> bookings.BookingView:
    return await _view(await _client(), booking_id)


async def _view(client: Client, booking_id: str) -> bookings.BookingView:
    engine = create_engine(settings().require_database_url(), pool_size=1)
    try:
        return await bookings.booking_status(client, create_session_maker(engine), booking_id)
    except bookings.BookingNotFound as missing:
        raise CliError(str(missing)) from None
    finally:
        await engine.dispose()


async def _cancel(booking_id: str, reason: str) -> None:
    try:
        await bookings.cancel_booking(await _client(), booking_id, reason)
    except (bookings.BookingNotFound, bookings.CancellationRejected) as refused:
        raise CliError(str(refused)) from None


async def _client() -> Client:
    try:
        return await connect(settings(), retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None


def _show(view: bookings.BookingView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    typer.echo(f"booking {view.booking_id}: {view.status}")
    typer.echo(f"  workflow   {view.workflow_id}")
    if view.reference:
        typer.echo(f"  reference  {view.reference}")
    if view.failure_reason:
        typer.echo(f"  failed at  {view.failed_step}: {view.failure_reason}")
    if view.current_step:
        typer.echo(f"  running    {view.current_step}")
    if view.completed_steps:
        typer.echo(f"  completed  {', '.join(view.completed_steps)}")
    if view.compensations_run:
        typer.echo(f"  compensated {', '.join(view.compensations_run)}")


ONE_LINE = TypeAdapter(Line)
MAX_LINE = 200
"""The API's rule for the customer id and the payment token: one line of at most 200 characters."""


def _required(option: str, value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("must not be empty", param_hint=option)
    if len(value) > MAX_LINE:
        raise typer.BadParameter(f"at most {MAX_LINE} characters", param_hint=option)
    try:
        return ONE_LINE.validate_python(value)
    except ValidationError as refused:
        raise typer.BadParameter(str(refused.errors()[0]["ctx"]["error"]), param_hint=option) from None


def _id(option: str, value: str) -> str:
    if not ID.fullmatch(value):
        raise typer.BadParameter("letters, digits and ._:- only, at most 100 characters", param_hint=option)
    return value


def _operators_id(option: str, value: str) -> str:
    """An id the CLI (an operator) chooses: as :func:`_id`, and outside every partner's namespace."""
    refusal = namespace_refusal(_id(option, value), settings().api.partner_token_hashes)
    if refusal is not None:
        raise typer.BadParameter(refusal, param_hint=option)
    return value


def _amount(value: str) -> str:
    try:
        check_amount_text(value)  # the API's rule: 120.00, not 1_000, 1e2 or other scripts' digits
    except InvalidBooking as refused:
        raise typer.BadParameter(refused.message, param_hint="--amount") from None
    return str(Decimal(value).quantize(Decimal("0.01")))


def _currency(value: str) -> str:
    try:
        check_currency(value.upper())
    except InvalidBooking:
        raise typer.BadParameter(f"{value!r} is not an ISO 4217 currency code", param_hint="--currency") from None
    return value.upper()
