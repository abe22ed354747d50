"""The Temporal server SIGKILLed and restarted (same port, same SQLite file) while bookings, a
media job and a B2B batch are in flight: the worker keeps dialling, and all of them complete
with nothing lost or done twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_workflow_id
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.media.contracts import MediaJobResult
from activities.media.keys import media_workflow_id
from activities.models.b2b import B2BTransaction
from activities.models.booking import Booking
from activities.models.common import NotificationLedger
from activities.models.media import MediaJob
from tests.e2e.booking_support import new_flight
from tests.support.b2b import isolated_resources, new_partner, wait_for
from tests.support.batch_load import drop_batch, intake_env, settled_batch
from tests.support.booking_load import all_closed, mixed_requests, settled_bookings, world_of
from tests.support.fleet import WorkerFleet
from tests.support.media import DEMO_TEXT, media_request, upload_media
from tests.support.processes import stack_env
from tests.support.temporal_server import OwnDevServer
from tests.support.world import QueueReader
from worker.services.booking import submit_booking
from worker.settings import Settings
from workflows.media.workflow import MediaWorkflow

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

BOOKINGS = 30
SEATS = 40
RECORDS = 400
DOWN_SECONDS = 3.0


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnDevServer]:
    server = OwnDevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slow_partners(emulators: Any) -> Iterator[None]:
    """Enrichment answers in 0.2 s and a transcription takes ~30 polls: both still run at the kill."""
    emulators.state.enrichment.latency_seconds = 0.2
    emulators.state.transcribe.polls_per_status = 10
    yield
    emulators.state.enrichment.latency_seconds = 0.0
    emulators.state.transcribe.polls_per_status = 1


async def _stored(sessions: SessionMaker, partner: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(B2BTransaction.partner_id == partner, B2BTransaction.status == "STORED")
        return int(await session.scalar(query) or 0)


async def _media_result(client: Client, job_id: str, timeout: float) -> MediaJobResult:
    """The job's result, asking again while the server is away."""
    handle: WorkflowHandle[Any, MediaJobResult] = client.get_workflow_handle_for(
        MediaWorkflow.run, media_workflow_id(job_id)
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.wait_for(handle.result(), max(1.0, deadline - time.monotonic()))
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _running(client: Client, workflow_id: str) -> bool:
    return (await client.get_workflow_handle(workflow_id).describe()).status == WorkflowExecutionStatus.RUNNING


@pytest.mark.timeout(300)
async def test_bookings_media_and_a_batch_in_flight_complete_after_the_temporal_server_is_killed(
    own_server: OwnDevServer,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    aws_endpoint: str,
    emulators: Any,
    slow_partners: None,
    tmp_path: Path,
) -> None:
    resources = isolated_resources()
    queue = settings.worker.task_queue
    env = stack_env(
        dev_env, settings, TEMPORAL_ADDRESS=own_server.address, AWS_ENDPOINT_URL=aws_endpoint, **intake_env(resources)
    )
    fleet = WorkerFleet(env, tmp_path)
    world = await world_of(aws, sessions, resources, emulators.state.payments)
    media_notices = await QueueReader.subscribed_to(aws, resources.media_notifications_topic)
    flight = new_flight(resources, seats=SEATS)
    bookings = mixed_requests(flight, BOOKINGS, declined_every=10, token="tok_slow")
    partner = new_partner()
    client = await own_server.client()
    try:
        await fleet.start_one()
        media = media_request(await upload_media(aws, resources, DEMO_TEXT))
        await client.start_workflow(MediaWorkflow.run, media, id=media_workflow_id(media.job_id), task_queue=queue)
        batch_id = await drop_batch(aws, resources, partner, RECORDS)
        await wait_for(lambda: _at_least(sessions, partner, 20), timeout=90)
        await asyncio.gather(*(submit_booking(client, queue, r) for r in bookings))
        await asyncio.sleep(1.5)  # the bookings are in their 3 s payment now
        in_flight = await _in_flight(client, sessions, media.job_id, partner, batch_id, bookings)

        await asyncio.to_thread(own_server.kill)
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(own_server.start)
        client = await own_server.client()

        outcomes = await all_closed(client, bookings, timeout=150)
        result = await _media_result(client, media.job_id, timeout=150)
        await settled_batch(aws, sessions, resources, partner, batch_id, RECORDS, timeout=150)
    except BaseException:
        print(fleet.log_tail())
        raise
    finally:
        fleet.stop_all()

    print(f"\nin flight at the kill: {in_flight}; bookings {dict(outcomes)}; media polls {result.polls}")
    assert in_flight["media"] and in_flight["batch"] and in_flight["bookings"] > 0
    tally = await settled_bookings(world, flight, SEATS, bookings)
    assert tally.confirmed == BOOKINGS - BOOKINGS // 10
    assert sorted(t.language for t in result.translations) == ["es", "fr"]
    await _media_stored_once(sessions, media_notices, media.job_id)


async def _at_least(sessions: SessionMaker, partner: str, count: int) -> int | None:
    stored = await _stored(sessions, partner)
    return stored if stored >= count else None


async def _in_flight(
    client: Client, sessions: SessionMaker, job_id: str, partner: str, batch_id: str, bookings: list[Any]
) -> dict[str, Any]:
    """What was still unfinished just before the kill."""
    async with sessions() as session:
        open_bookings = await session.scalar(
            select(func.count()).where(
                Booking.booking_id.in_([r.request_id for r in bookings]), Booking.status == "RESERVED"
            )
        )
    return {
        "media": await _running(client, media_workflow_id(job_id)),
        "batch": await _running(client, batch_workflow_id(partner, batch_id)),
        "stored": await _stored(sessions, partner),
        "bookings": int(open_bookings or 0),
    }


async def _media_stored_once(sessions: SessionMaker, notices: QueueReader, job_id: str) -> None:
    async with sessions() as session:
        job = await session.get(MediaJob, job_id)
        ledger = await session.get(NotificationLedger, f"media-{job_id}:completed")
    assert job is not None and job.status == "COMPLETED" and job.transcript == DEMO_TEXT
    assert ledger is not None and ledger.message_id is not None
    messages = await wait_for(lambda: _about_job(notices, job_id), timeout=10)
    assert [m["event"] for m in messages] == ["media.completed"]


async def _about_job(notices: QueueReader, job_id: str) -> list[dict[str, Any]]:
    return [m for m in await notices.drain() if m.get("job_id") == job_id]
