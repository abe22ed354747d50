"""Poller benchmark: a 2,000-page job of small pages end to end against a one-no-op-activity
baseline, three rounds alternating baseline and job (min / median / max of the per-round ratios).

A page is fully processed when the payload consumer has stored its records and marked its
task SuccessfullyCompleted; the job's time runs from its start to its result (which waits
for the consumer). Both run in this process against the same dev server in the same run,
at the same concurrency: the job fetches ``IN_FLIGHT`` pages at once (the poller's
``max_in_flight`` setting) and the baseline keeps ``IN_FLIGHT`` no-op workflows running.
The AWS emulator and the partner API emulator are processes of their own, so their CPU is
not the worker's. The partner answers each page after ``PAGE_LATENCY`` (a fast API; without
any, its requests could not overlap and the most it saw at once would say nothing); it
reports the most requests it had in flight, which must reach more than one and never exceed
the setting.

    .venv/bin/pytest tests/benchmarks/test_poller_throughput.py -m benchmark -s -p no:logging
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.poller.contracts import JobSummary
from tests.benchmarks.support import baseline_per_second, spread
from tests.support.b2b import isolated_resources
from tests.support.poller import PARTNER, poller_worker
from worker.services import poller as service
from worker.settings import Settings

PAGES = 2_000
PAGE_SIZE = 5
IN_FLIGHT = 5
PAGE_LATENCY = 0.02
BASELINE = 500
ROUNDS = 3

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1800)]


async def test_poller_pages_per_second_against_the_baseline(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    partner_http: aiohttp.ClientSession,
    separate_processes: str,
) -> None:
    resources = isolated_resources()
    aws = AwsClients()
    base = f"{separate_processes}/partner-api/"
    config = settings.model_copy(
        update={
            "aws": settings.aws.model_copy(update={"name_prefix": resources.prefix}),
            "poller": settings.poller.model_copy(
                update={
                    "partners": {PARTNER: [base]},
                    "allow_private_networks": True,  # the emulator listens on loopback
                    "max_in_flight": IN_FLIGHT,
                    "consumer_wait_seconds": 1,
                }
            ),
        }
    )
    baselines: list[float] = []
    rates: list[float] = []
    most_in_flight: list[int] = []
    async with httpx.AsyncClient(timeout=10) as http:
        for round_ in range(ROUNDS):
            baselines.append(await baseline_per_second(dev_env.client, f"bench-{uuid.uuid4()}", BASELINE, IN_FLIGHT))
            dataset = f"bench{uuid.uuid4().hex[:8]}"
            control = {"dataset": dataset, "records": PAGES * PAGE_SIZE, "page_size": PAGE_SIZE}
            control["latency_seconds"] = PAGE_LATENCY
            (await http.post(f"{base}control", json=control)).raise_for_status()
            request = service.job_request(config, PARTNER, f"{base}{dataset}/", f"bench-{dataset}")
            async with poller_worker(dev_env.client, config, sessions, resources, aws, partner_http):
                started = time.perf_counter()
                submitted = await service.submit_job(
                    dev_env.client, config.worker.task_queue, service.poller_access(config), request, owner=None
                )
                handle = dev_env.client.get_workflow_handle(submitted.workflow_id, result_type=JobSummary)
                summary = await asyncio.wait_for(handle.result(), 1500)
                rates.append(PAGES / (time.perf_counter() - started))
            assert summary.status == "COMPLETED" and summary.counts["SuccessfullyCompleted"] == PAGES, round_
            state: dict[str, Any] = (await http.get(f"{base}control", params={"dataset": dataset})).json()
            most_in_flight.append(int(state["max_in_flight"]))
    ratios = [rate / baseline for rate, baseline in zip(rates, baselines, strict=True)]
    print(
        "\nPoller benchmark (same dev server, same run)\n"
        f"  baseline no-op workflows/s        {spread(baselines)}  ({BASELINE} workflows, {IN_FLIGHT} in flight)\n"
        f"  pages fully processed/s           {spread(rates)}  ({PAGES} pages of {PAGE_SIZE} records, "
        f"{PAGE_LATENCY * 1000:.0f} ms each, max_in_flight {IN_FLIGHT})\n"
        f"  ratio pages / baseline            {' / '.join(f'{r:.2f}' for r in sorted(ratios))}"
        f"  (min / median / max of {ROUNDS} rounds; target >= 0.5)\n"
        f"  most requests in flight           {json.dumps(most_in_flight)}  (setting {IN_FLIGHT})"
    )
    assert min(most_in_flight) >= 2 and max(most_in_flight) <= IN_FLIGHT
