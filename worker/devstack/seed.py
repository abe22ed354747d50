"""Demo data the dev stack puts in place: flights, and a well-known operator token.

Seeding is idempotent and never overwrites: a restarted dev stack keeps the seats
that bookings have taken.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions

from activities.resources import Resources

DEV_OPERATOR_TOKEN = "stepwise-dev-operator"
"""Bearer token of the operator role on the embedded stack only."""

DEV_PARTNER_ID = "acme"
"""The demo trading partner of the B2B pipeline."""

DEV_PARTNER_TOKEN = "stepwise-dev-partner-acme"
"""Bearer token of the demo partner on the embedded stack only."""

DEMO_FLIGHTS = {"FL-100": 150, "FL-200": 2}
"""Flight id -> seats left: FL-100 has plenty, FL-200 is nearly full."""


def seed_flights(resources: Resources, flights: dict[str, int], session: boto3.session.Session | None = None) -> None:
    """Create flights that do not exist yet with the given seat capacity."""
    dynamodb: Any = (session or boto3.session.Session()).client("dynamodb")
    for flight_id, seats in flights.items():
        try:
            dynamodb.put_item(
                TableName=resources.flights_table,
                Item={"id": {"S": flight_id}, "seatCapacity": {"N": str(seats)}},
                ConditionExpression="attribute_not_exists(id)",
            )
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def seed_demo_data(resources: Resources) -> None:
    """Everything the README's quick tour uses."""
    seed_flights(resources, DEMO_FLIGHTS)
