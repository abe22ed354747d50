"""Postgres unreachable for 30 s while bookings run: steps retry, and once it is back every
booking ends whole, with nothing lost or doubled.

The worker reaches Postgres through a TCP proxy; the outage closes the proxy's port (new
connections are refused) and cuts every connection it carried, as a failed-over or
restarted database would. The machine's Postgres server itself is shared and stays up.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from activities.booking.contracts import BookingRequest
from tests.e2e.booking_support import World, new_flight
from tests.support.b2b import wait_for
from tests.support.booking_load import all_closed, mixed_requests, settled_bookings, submit_paced
from tests.support.fleet import WorkerFleet
from tests.support.processes import stack_env
from tests.support.tcp_proxy import TcpProxy
from worker.services.booking import submit_booking
from worker.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

SEATS = 100
OUTAGE_SECONDS = 30.0
IN_PAYMENT = 20
"""Bookings whose payment (``tok_slow``: 3 s) is in flight when Postgres goes: recording the
charge fails, and the step's retries (about 40 s of them) outlast the outage."""
ARRIVING = 24
"""Bookings submitted during the outage: the article's Reserve Booking policy (two attempts,
1 s apart) gives up on them, so each must end CANCELLED, compensated and notified once."""
AFTERWARDS = 10
"""Bookings submitted once Postgres is back: the worker's pool reconnects and they confirm."""


async def _reserved(world: World, requests: list[BookingRequest]) -> bool:
    rows = [await world.booking(r.request_id) for r in requests]
    return all(row is not None and row.status == "RESERVED" for row in rows)


@pytest.mark.timeout(360)
async def test_bookings_ride_out_30s_of_unreachable_postgres_without_losing_or_doubling_anything(
    dev_env: WorkflowEnvironment, settings: Settings, world: World, aws_endpoint: str, tmp_path: Path
) -> None:
    database = make_url(settings.require_database_url())
    proxy = TcpProxy(database.host or "127.0.0.1", database.port or 5432)
    through_proxy = database.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = stack_env(dev_env, settings, AWS_ENDPOINT_URL=aws_endpoint, STEPWISE_DATABASE_URL=through_proxy)
    fleet = WorkerFleet(env, tmp_path)
    flight = new_flight(world.resources, seats=SEATS)
    in_payment = mixed_requests(flight, IN_PAYMENT, declined_every=None, token="tok_slow")
    arriving = mixed_requests(flight, ARRIVING, declined_every=6)
    afterwards = mixed_requests(flight, AFTERWARDS, declined_every=None)
    queue = settings.worker.task_queue
    with proxy.running():
        try:
            await fleet.start_one()
            started = time.monotonic()
            await asyncio.gather(*(submit_booking(dev_env.client, queue, r) for r in in_payment))
            # Cut once every row is written and before the first 3 s charge has come back; on a
            # slow machine some may not be written yet, and those bookings arrive in the outage.
            with suppress(AssertionError):
                await wait_for(lambda: _reserved(world, in_payment), timeout=2.5, interval=0.05)
            proxy.cut()
            connections_before = proxy.accepted
            await submit_paced(dev_env.client, queue, arriving, OUTAGE_SECONDS - 2)
            await asyncio.sleep(max(0.0, started + OUTAGE_SECONDS - time.monotonic()))
            proxy.restore()
            await submit_paced(dev_env.client, queue, afterwards, 2)
            everything = in_payment + arriving + afterwards
            outcomes = await all_closed(dev_env.client, everything, timeout=240)
            elapsed = time.monotonic() - started
        except BaseException:
            print(fleet.log_tail())
            raise
        finally:
            fleet.stop_all()

    tally = await settled_bookings(world, flight, SEATS, everything)
    print(
        f"\npostgres outage {OUTAGE_SECONDS:.0f} s: {tally}; workflows {dict(outcomes)}; closed after {elapsed:.1f} s"
    )
    assert proxy.accepted > connections_before, "the worker never reconnected through the proxy"
    retried = [r for r in in_payment if world.payments.attempts.get(f"booking:{r.request_id}:charge", 0) >= 2]
    print(f"payments retried through the outage: {len(retried)} of {IN_PAYMENT}")
    assert len(retried) >= IN_PAYMENT // 2, "the outage missed the payments in flight"
    for request in retried:
        row = await world.booking(request.request_id)
        assert row is not None and row.status == "CONFIRMED", f"{request.request_id}: {row and row.failure_reason}"
    for request in arriving:
        row = await world.booking(request.request_id)
        assert row is not None and row.status == "CANCELLED"
        assert row.failed_step in ("reserve_booking", "collect_payment"), row.failed_step
    for request in afterwards:
        row = await world.booking(request.request_id)
        assert row is not None and row.status == "CONFIRMED", f"{request.request_id}: {row and row.failure_reason}"
