"""History events per media job as the transcription wait grows: retry-as-poll vs a naive loop.

    make bench      (or: .venv/bin/pytest tests/benchmarks/test_media_history.py -m benchmark -s)

Both run on the time-skipping server with name-matched mock activities, at the article's
20-second interval: from 3 polls (one minute) to 4,320 (a day). MediaWorkflow's wait is
one activity retried by its policy; the naive loop (tests/benchmarks/naive_polling.py)
runs an activity and a timer per poll. The table prints both and their ratio; Temporal
warns at 10,240 events and terminates a run at 51,200.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.media.contracts import MediaJobRequest, MediaJobResult
from activities.media.keys import media_workflow_id
from tests.benchmarks.naive_polling import NaivePollingMediaWorkflow, get_transcription_status
from tests.workflows.media.mocks import MockMediaActivities
from workflows.media.workflow import MediaWorkflow

POLLS = tuple(int(p) for p in os.environ.get("STEPWISE_BENCH_POLLS", "3,30,180,1080,4320").split(","))
"""1 minute, 10 minutes, 1 hour, 6 hours and 24 hours at 20 s (override: STEPWISE_BENCH_POLLS=3,30)."""
HISTORY_WARNING = 10_240


def _request(polls: int) -> MediaJobRequest:
    return MediaJobRequest(
        job_id=f"bench-{uuid.uuid4().hex[:8]}-{polls}",
        media_uri="s3://stepwise-media/demo/realtime-b2b.wav",
        language_code="en-US",
        target_languages=["es", "fr"],
        poll_interval_seconds=20.0,
        max_wait_seconds=25 * 3600.0,
    )


async def _stepwise(env: WorkflowEnvironment, polls: int) -> tuple[int, float]:
    queue = f"bench-{uuid.uuid4()}"
    mocks = MockMediaActivities(polls=polls)
    request = _request(polls)
    async with Worker(env.client, task_queue=queue, workflows=[MediaWorkflow], activities=mocks.activities()):
        began = time.perf_counter()
        handle = await env.client.start_workflow(
            MediaWorkflow.run, request, id=media_workflow_id(request.job_id), task_queue=queue
        )
        result: MediaJobResult = await asyncio.wait_for(handle.result(), 600)
        elapsed = time.perf_counter() - began
    assert result.polls == polls
    return len((await handle.fetch_history()).events), elapsed


async def _naive(env: WorkflowEnvironment, polls: int) -> tuple[int, float]:
    queue = f"bench-{uuid.uuid4()}"
    activities = [*MockMediaActivities().activities(), get_transcription_status]
    request = _request(polls)
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[NaivePollingMediaWorkflow],
        activities=activities,
        max_cached_workflows=10,
    ):
        began = time.perf_counter()
        handle = await env.client.start_workflow(
            NaivePollingMediaWorkflow.run, request, id=f"naive-{request.job_id}", task_queue=queue
        )
        assert await asyncio.wait_for(handle.result(), 600) == polls
        elapsed = time.perf_counter() - began
    return len((await handle.fetch_history()).events), elapsed


@pytest.mark.benchmark
@pytest.mark.timeout(1800)
async def test_history_events_stay_flat_as_the_wait_grows(time_env: WorkflowEnvironment) -> None:
    rows = []
    for polls in POLLS:
        stepwise_events, stepwise_seconds = await _stepwise(time_env, polls)
        naive_events, naive_seconds = await _naive(time_env, polls)
        rows.append((polls, stepwise_events, naive_events, stepwise_seconds, naive_seconds))

    print("\nHistory events per media job (time-skipping server, 20 s poll interval, 2 target languages)")
    print(f"{'polls':>6} {'wait':>8} {'stepwise':>9} {'naive':>7} {'naive/stepwise':>15} {'wall s (sw/naive)':>18}")
    for polls, stepwise_events, naive_events, stepwise_seconds, naive_seconds in rows:
        wait = f"{polls * 20 / 3600:.1f} h" if polls * 20 >= 3600 else f"{polls * 20 / 60:.0f} min"
        warned = " (over the 10,240 warning)" if naive_events > HISTORY_WARNING else ""
        print(
            f"{polls:>6} {wait:>8} {stepwise_events:>9} {naive_events:>7} {naive_events / stepwise_events:>14.1f}x"
            f" {stepwise_seconds:>8.1f} / {naive_seconds:<8.1f}{warned}"
        )
    stepwise_counts = [row[1] for row in rows]
    assert max(stepwise_counts) - min(stepwise_counts) <= 2
    assert max(stepwise_counts) < 40
