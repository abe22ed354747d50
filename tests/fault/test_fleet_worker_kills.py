"""A fleet of three workers, one SIGKILLed every 10 s for a minute and replaced each time, while
200 bookings and a 2,000-record B2B batch run: every booking and transaction ends, none is
charged, stored or notified twice.

The test prints its times to finish; the same load on a fleet nobody kills is a benchmark
kept out of ``make test`` for its minutes, which prints the figures to compare with:
``pytest tests/fault/test_fleet_worker_kills.py -m "fault or benchmark" -s``. Timings on a
shared machine are too noisy to assert on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_workflow_id
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.e2e.booking_support import new_flight
from tests.support.b2b import isolated_resources, new_partner
from tests.support.batch_load import drop_batch, intake_env, settled_batch
from tests.support.booking_load import all_closed, mixed_requests, settled_bookings, submit_paced, world_of
from tests.support.fleet import WorkerFleet
from tests.support.processes import stack_env
from worker.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

FLEET_SIZE = 3
BOOKINGS = 200
SEATS = 175
"""Fewer seats than payable bookings (180): the last ones find the flight full."""
RECORDS = 2000
SUBMIT_OVER_SECONDS = 50.0
KILL_EVERY_SECONDS = 10.0
KILLS = 6


@dataclass
class Run:
    """One pass of the load: its workers, its own resources, flight and partner."""

    label: str
    fleet: WorkerFleet
    task_queue: str
    resources: Resources
    started: float = 0.0
    bookings_done: float = 0.0
    batch_done: float = 0.0
    kills_in_flight: int = 0

    def figures(self) -> str:
        return (
            f"{self.label}: bookings closed after {self.bookings_done - self.started:.1f} s, "
            f"batch after {self.batch_done - self.started:.1f} s, {self.kills_in_flight} kills while in flight"
        )


async def _run_load(
    run: Run, dev_env: WorkflowEnvironment, aws: AwsClients, sessions: SessionMaker, emulators: Any, kills: int
) -> None:
    resources, partner = run.resources, new_partner()
    world = await world_of(aws, sessions, resources, emulators.state.payments)
    flight = new_flight(resources, seats=SEATS)
    requests = mixed_requests(flight, BOOKINGS)
    await run.fleet.start(FLEET_SIZE)

    async def bookings() -> None:
        await submit_paced(dev_env.client, run.task_queue, requests, SUBMIT_OVER_SECONDS)
        await all_closed(dev_env.client, requests, timeout=240)
        run.bookings_done = time.monotonic()

    async def batch() -> str:
        batch_id = await drop_batch(aws, resources, partner, RECORDS)
        await settled_batch(aws, sessions, resources, partner, batch_id, RECORDS, timeout=420)
        run.batch_done = time.monotonic()
        return batch_id

    run.started = time.monotonic()
    load = asyncio.gather(bookings(), batch())
    killer = asyncio.create_task(_kill_and_replace(run, kills))
    try:
        _, batch_id = await load
    finally:
        killer.cancel()
    tally = await settled_bookings(world, flight, SEATS, requests)
    print(f"\n{run.figures()}; bookings: {tally}")
    if kills:
        assert run.kills_in_flight >= kills - 1, "the load finished before the kills; make it longer"
        assert await _retried_steps(dev_env, partner, batch_id), "no batch step was interrupted by a kill"


async def _kill_and_replace(run: Run, kills: int) -> None:
    for number in range(1, kills + 1):
        await asyncio.sleep(max(0.0, run.started + number * KILL_EVERY_SECONDS - time.monotonic()))
        await run.fleet.kill_oldest()
        run.kills_in_flight += 1
        await run.fleet.start_one()


async def _retried_steps(dev_env: WorkflowEnvironment, partner: str, batch_id: str) -> int:
    history = await dev_env.client.get_workflow_handle(batch_workflow_id(partner, batch_id)).fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
    )


def _new_run(label: str, dev_env: WorkflowEnvironment, settings: Settings, aws_endpoint: str, logs: Path) -> Run:
    """A fleet on a task queue and resources of the run's own."""
    resources = isolated_resources()
    task_queue = f"{settings.worker.task_queue}-{logs.name}"
    env = stack_env(
        dev_env,
        settings,
        AWS_ENDPOINT_URL=aws_endpoint,
        STEPWISE_WORKER__TASK_QUEUE=task_queue,
        **intake_env(resources),
    )
    logs.mkdir()
    return Run(label, WorkerFleet(env, logs), task_queue, resources)


@dataclass(frozen=True)
class Stack:
    """The session's stack a run needs."""

    dev_env: WorkflowEnvironment
    settings: Settings
    aws: AwsClients
    sessions: SessionMaker
    aws_endpoint: str
    emulators: Any
    logs: Path


@pytest.fixture
def stack(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    aws_endpoint: str,
    emulators: Any,
    tmp_path: Path,
) -> Stack:
    return Stack(dev_env, settings, aws, sessions, aws_endpoint, emulators, tmp_path)


async def _measured(label: str, kills: int, stack: Stack) -> None:
    run = _new_run(label, stack.dev_env, stack.settings, stack.aws_endpoint, stack.logs / f"kills-{kills}")
    try:
        await _run_load(run, stack.dev_env, stack.aws, stack.sessions, stack.emulators, kills)
    except BaseException:
        print(run.fleet.log_tail())
        raise
    finally:
        run.fleet.stop_all()


@pytest.mark.timeout(540)
async def test_a_fleet_losing_a_worker_every_10s_ends_every_booking_and_transaction_exactly_once(stack: Stack) -> None:
    await _measured(f"{KILLS} kills", KILLS, stack)


@pytest.mark.benchmark
@pytest.mark.timeout(420)
async def test_the_same_load_on_a_fleet_nobody_kills_for_comparison(stack: Stack) -> None:
    await _measured("no kills", 0, stack)
