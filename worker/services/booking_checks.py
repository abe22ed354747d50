"""The edge checks of a booking request, run by the API and the CLI before anything starts.

The currency must be an ISO 4217 code (pycountry's table) and every flight must exist in
the DynamoDB ``flights`` table; otherwise the request is refused naming the field, and no
workflow starts, no seat is taken, nothing is charged. A flight that exists but is full
is not refused here: seats change while the request travels, and the saga's
``reserve_seat`` step decides that atomically.
"""

from __future__ import annotations

import re

import pycountry

from activities.booking.contracts import BookingRequest
from activities.common.aws import AwsClients
from activities.common.resources import Resources


class InvalidBooking(ValueError):
    """A booking request that must not start; ``field`` names the refused field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


AMOUNT_PATTERN = r"^([1-9][0-9]{0,9}(\.[0-9]{1,2})?|0?\.(0[1-9]|[1-9][0-9]?))$"
"""An amount as text: a positive decimal with at most 10 integer digits and 2 decimals, ASCII
digits only (Python's ``Decimal`` alone would also take ``1_000``, ``1e2`` and other scripts' digits)."""


def check_amount_text(text: str) -> None:
    """Refuse an amount written other than as ``AMOUNT_PATTERN`` allows (``120.00``, ``0.5``)."""
    if re.fullmatch(AMOUNT_PATTERN, text) is None:
        raise InvalidBooking(
            "amount", f"{text!r} is not a positive amount such as 120.00 (at most 10 digits, then 2 decimals)"
        )


def check_currency(code: str) -> None:
    """Refuse a code that is not an ISO 4217 currency (upper case, e.g. ``EUR``)."""
    if pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidBooking("currency", f"{code!r} is not an ISO 4217 currency code")


async def validate_booking(aws: AwsClients, resources: Resources, request: BookingRequest) -> None:
    """Refuse a request whose currency is not ISO 4217 or whose flight does not exist.

    Raises:
        InvalidBooking: naming ``currency``, ``flight_id`` or ``return_flight_id``.
    """
    check_currency(request.currency)
    flights = {"flight_id": request.outbound_flight_id, "return_flight_id": request.return_flight_id}
    for field_name, flight_id in flights.items():
        if flight_id is not None and not await flight_exists(aws, resources, flight_id):
            raise InvalidBooking(field_name, f"no flight {flight_id!r}")


async def flight_exists(aws: AwsClients, resources: Resources, flight_id: str) -> bool:
    """Whether the ``flights`` table has this flight (a consistent read of its key only)."""
    found = await aws.call(
        "dynamodb",
        "get_item",
        TableName=resources.flights_table,
        Key={"id": {"S": flight_id}},
        ProjectionExpression="id",
        ConsistentRead=True,
    )
    return "Item" in found
