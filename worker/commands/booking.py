"""`stepwise booking start | status | cancel`."""

from __future__ import annotations

import contextlib
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from temporalio.client import Client, WorkflowFailureError

from activities.booking import BookingRequest
from activities.db import create_engine, create_session_maker
from worker.commands.common import CliError, print_json, run, settings
from worker.services import booking as bookings
from worker.temporal import connect

app = typer.Typer(help="Flight bookings (the ProcessBooking saga).", no_args_is_help=True)

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


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
    """Book a seat: reserve, charge, confirm, notify; compensated on failure."""
    request = BookingRequest(
        request_id=_id("--request-id", request_id or str(uuid.uuid4())),
        customer_id=_required("--customer", customer),
        outbound_flight_id=_id("--flight", flight),
        return_flight_id=_id("--return-flight", return_flight) if return_flight else None,
        amount=_amount(amount),
        currency=_currency(currency),
        payment_token=_required("--payment-token", payment_token),
    )
    view = run(_start(request, wait))
    _show(view, as_json)


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


async def _start(request: BookingRequest, wait: bool) -> bookings.BookingView:
    config = settings()
    client = await _client()
    submitted = await bookings.submit_booking(client, config.worker.task_queue, request)
    if wait:
        handle = client.get_workflow_handle(submitted.workflow_id)
        # A failed saga raises here; its outcome is read back from the booking record below.
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
    return await _view(client, request.request_id)


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
        return await connect(settings())
    except ConnectionError as error:
        raise CliError(str(error)) from None


def _show(view: bookings.BookingView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    typer.echo(f"booking {view.booking_id}: {view.status}")
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


def _required(option: str, value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("must not be empty", param_hint=option)
    return value


def _id(option: str, value: str) -> str:
    if not ID.match(value):
        raise typer.BadParameter("letters, digits and ._:- only, at most 100 characters", param_hint=option)
    return value


def _amount(value: str) -> str:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number", param_hint="--amount") from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise typer.BadParameter("must be positive with at most 2 decimals", param_hint="--amount")
    return str(amount.quantize(Decimal("0.01")))


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise typer.BadParameter("must be a 3-letter ISO 4217 code", param_hint="--currency")
    return value.upper()
