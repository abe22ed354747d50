"""B2B benchmark: a 2,000-transaction file end to end against a one-no-op-activity baseline,
three rounds alternating baseline and B2B (min / median / max of the per-round ratios).

Both workers run in this process against the same dev server in the same run, so machine
noise cancels in the ratio: the baseline keeps ``max_in_flight`` no-op workflows running,
the way a batch's dispatch step keeps its transactions running. As in ``stepwise dev``
(and production), the AWS emulator and the enrichment API are processes of their own
here, so their CPU is not taken from the worker under test. Also measured: the delay
from an object landing in S3 to its batch workflow starting (p50/p99), and the parser's
throughput and peak memory on a 300,000-record file.

    .venv/bin/pytest tests/benchmarks/test_b2b_throughput.py -m benchmark -s -p no:logging
"""

from __future__ import annotations

import asyncio
import statistics
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_id_for, batch_workflow_id
from activities.b2b.xml_file import TransactionFileParser
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from tests.benchmarks.support import baseline_per_second, spread
from tests.support.b2b import (
    b2b_worker,
    finished_batch,
    isolated_resources,
    new_partner,
    note,
    pieces,
    prefixed,
    put_inbound,
    transactions_xml,
    write_large_file,
)
from worker.settings import Settings

TRANSACTIONS = 2_000
BASELINE = 1_000
ROUNDS = 3
IN_FLIGHT = 50
LATENCY_SAMPLES = 60

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1800)]


async def test_b2b_throughput_latency_and_parser(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    partner_http: aiohttp.ClientSession,
    separate_processes: str,
    tmp_path: Path,
) -> None:
    resources = isolated_resources()
    aws = AwsClients()
    configured = prefixed(settings, resources, max_in_flight=IN_FLIGHT).model_copy(
        update={"partners": settings.partners.model_copy(update={"enrichment_url": f"{separate_processes}/enrichment"})}
    )
    baselines: list[float] = []
    rates: list[float] = []
    for round_ in range(ROUNDS):
        baselines.append(await baseline_per_second(dev_env.client, f"bench-{uuid.uuid4()}", BASELINE, IN_FLIGHT))
        partner = new_partner()
        body = transactions_xml((f"B{i}", note(10_000 + i, 20_000 + i)) for i in range(TRANSACTIONS))
        async with b2b_worker(dev_env.client, configured, sessions, resources, aws, partner_http):
            started = time.perf_counter()
            key, etag = await put_inbound(aws, resources, partner, f"bench-{round_}.xml", body)
            batch = await finished_batch(sessions, batch_id_for(partner, key, etag), timeout=1500)
            rates.append(TRANSACTIONS / (time.perf_counter() - started))
            if round_ == ROUNDS - 1:
                latencies = await _intake_latencies(dev_env.client, aws, resources)
        assert batch.report is not None and batch.report["stored"] == TRANSACTIONS
    ratios = [rate / base for rate, base in zip(rates, baselines, strict=True)]

    parsed_per_second, peak = _parser_figures(tmp_path)
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(
        "\nB2B benchmark (same dev server, same run)\n"
        f"  baseline no-op workflows/s        {spread(baselines)}  ({BASELINE} workflows, {IN_FLIGHT} in flight)\n"
        f"  B2B transactions stored/s         {spread(rates)}  ({TRANSACTIONS} from one file, {IN_FLIGHT} in flight)\n"
        f"  ratio B2B / baseline              {' / '.join(f'{r:.2f}' for r in sorted(ratios))}"
        f"  (min / median / max of {ROUNDS} rounds; target >= 0.6)\n"
        f"  intake-to-start p50 / p99 (ms)    {p50 * 1000:8.0f} / {p99 * 1000:.0f}  ({LATENCY_SAMPLES} files)\n"
        f"  parser records/s                  {parsed_per_second:8.0f}  (300,000 records)\n"
        f"  parser peak memory (MiB)          {peak / 2**20:8.1f}"
    )


async def _intake_latencies(client: Client, aws: AwsClients, resources: object) -> list[float]:
    """Seconds from each object's upload to its batch workflow's start, files spaced out."""
    partner = new_partner()
    uploads = []
    for i in range(LATENCY_SAMPLES):
        key, etag = await put_inbound(aws, resources, partner, f"tiny-{i}.xml", b"<Transactions/>")  # type: ignore[arg-type]
        uploads.append((datetime.now(UTC), batch_workflow_id(partner, batch_id_for(partner, key, etag))))
        await asyncio.sleep(0.1)
    latencies = []
    for uploaded, workflow_id in uploads:
        handle = client.get_workflow_handle(workflow_id)
        for _ in range(100):
            try:
                description = await handle.describe()
                break
            except Exception:
                await asyncio.sleep(0.1)
        latencies.append((description.start_time - uploaded).total_seconds())
    return latencies


def _parser_figures(tmp_path: Path) -> tuple[float, int]:
    path = write_large_file(tmp_path / "parser.xml", 300_000)
    parser = TransactionFileParser()
    started = time.perf_counter()
    count = sum(len(parser.feed(data)) for data in pieces(path)) + len(parser.close())
    per_second = count / (time.perf_counter() - started)
    parser = TransactionFileParser()
    tracemalloc.start()
    try:
        for data in pieces(path):
            parser.feed(data)
        parser.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return per_second, peak
