"""Translate's concurrent-job quota as Postgres leases: at most ``limit`` held across the fleet,
taking twice holds one, and a lease whose workflow closed without giving it back is reclaimed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.models.translation import TranslationJobLease
from activities.translation.contracts import NO_TRANSLATE_SLOT, SlotRequest
from activities.translation.jobs import TranslateJobs


async def _held(sessions: SessionMaker) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(TranslationJobLease)) or 0)


async def test_slots_are_held_up_to_the_limit_once_per_holder_and_given_back(
    sessions: SessionMaker, aws: AwsClients, dev_env: WorkflowEnvironment
) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(TranslationJobLease))
    jobs = TranslateJobs(aws, sessions, dev_env.client)
    env = ActivityEnvironment()
    first, second, third = (SlotRequest(f"pair-{uuid.uuid4()}", "acme-p", 2) for _ in range(3))
    assert (await env.run(jobs.acquire_slot, first)).in_use == 1
    assert (await env.run(jobs.acquire_slot, first)).in_use == 1  # a retried take holds one
    assert (await env.run(jobs.acquire_slot, second)).in_use == 2
    with pytest.raises(ApplicationError) as full:
        await env.run(jobs.acquire_slot, third)
    assert full.value.type == NO_TRANSLATE_SLOT and not full.value.non_retryable
    assert await _held(sessions) == 2
    await env.run(jobs.release_slot, first)
    await env.run(jobs.release_slot, first)  # giving back twice is harmless
    assert (await env.run(jobs.acquire_slot, third)).in_use == 2
    for request in (second, third):
        await env.run(jobs.release_slot, request)
    assert await _held(sessions) == 0


async def test_a_lease_left_by_a_closed_workflow_is_reclaimed_and_a_running_ones_kept(
    sessions: SessionMaker, aws: AwsClients, dev_env: WorkflowEnvironment
) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(TranslationJobLease))
    queue = f"nobody-polls-{uuid.uuid4()}"  # the workflows never run: one stays running, one is terminated
    running = await dev_env.client.start_workflow(
        "TranslationPairWorkflow", id=f"held-{uuid.uuid4()}", task_queue=queue
    )
    closed = await dev_env.client.start_workflow(
        "TranslationPairWorkflow", id=f"leaked-{uuid.uuid4()}", task_queue=queue
    )
    await closed.terminate("operator terminated it by hand")
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    async with sessions.begin() as session:
        for holder in (running.id, closed.id):
            session.add(TranslationJobLease(holder=holder, project_id="acme-p", acquired_at=long_ago))
    jobs = TranslateJobs(aws, sessions, dev_env.client)
    newcomer = SlotRequest(f"pair-{uuid.uuid4()}", "acme-q", 2)
    assert (await ActivityEnvironment().run(jobs.acquire_slot, newcomer)).in_use == 2
    async with sessions() as session:
        holders = set((await session.scalars(select(TranslationJobLease.holder))).all())
    assert holders == {running.id, newcomer.holder}
    await running.terminate("test done")
    async with sessions.begin() as session:
        await session.execute(delete(TranslationJobLease))
