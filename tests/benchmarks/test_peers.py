"""Peers in the same run: the same five trivial steps through Stepwise's step runner, as a bare
Temporal workflow and as a DBOS workflow on the same PostgreSQL, with Stepwise's real booking
saga beside them.

The runner and bare Temporal run twice each: with task-queue activities (every step a round
trip through the Temporal server; the headline comparison, and the one the targets are set
on) and with local activities (the steps run in the worker that runs the workflow task, which
is how DBOS runs every step and how booking runs its short steps).

    make bench-peers    (installs the `bench` extra: DBOS is a benchmark dependency only)

The five steps are three Postgres writes (one idempotent insert each, the same function for
every peer) and two no-ops. The Temporal peers run in this process's worker and are driven
by the load driver from a process of its own, 50 in flight, as the other benchmarks are;
DBOS runs its workflows in the process that starts them, so its load is started here, 50 in
flight. Rounds alternate between the six; each prints min / median / max of three rounds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from tests.benchmarks.peer_steps import PeerWrites, peer_noop
from tests.benchmarks.peer_workflows import PeerBareWorkflow, PeerStep, PeerStepwiseWorkflow
from tests.benchmarks.support import measure_driven, pipeline_worker, spread
from tests.e2e.booking_support import new_flight

dbos = pytest.importorskip("dbos", reason="DBOS is a benchmark-only dependency: `make bench-peers` installs it")

pytestmark = [pytest.mark.benchmark, pytest.mark.peers]

COUNT = 300
ROUNDS = 3
IN_FLIGHT = 50
WARM_UP = 30
TEMPORAL_PEERS = {
    "stepwise runner": "peer-stepwise",
    "bare Temporal": "peer-bare",
    "runner, local": "peer-stepwise-local",
    "bare, local": "peer-bare-local",
}
"""The Temporal peers: printed name -> the load driver's ``--workflow``."""

_writes: PeerWrites | None = None


@dbos.DBOS.step()
async def dbos_write(step: PeerStep) -> None:
    assert _writes is not None
    await _writes.insert(step)


@dbos.DBOS.step()
async def dbos_noop(step: PeerStep) -> None:
    return None


@dbos.DBOS.workflow()
async def dbos_five_steps(run_id: str) -> int:
    await dbos_write(PeerStep(run_id, 0))
    await dbos_noop(PeerStep(run_id, 1))
    await dbos_write(PeerStep(run_id, 2))
    await dbos_noop(PeerStep(run_id, 3))
    await dbos_write(PeerStep(run_id, 4))
    return 5


async def _dbos_round(count: int) -> float:
    """DBOS workflows/s: ``count`` runs, ``IN_FLIGHT`` at a time, started and awaited here."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with slots:
            handle = await dbos.DBOS.start_workflow_async(dbos_five_steps, f"dbos-{uuid.uuid4()}")
            assert await handle.get_result() == 5

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return count / (time.perf_counter() - started)


def _dbos_url(sessions: Any) -> str:
    """A system database for DBOS beside the benchmark's, on the same server (psycopg driver)."""
    from activities.common.db import engine_of

    url = engine_of(sessions).url
    return url.set(drivername="postgresql", database=f"{url.database}_dbos").render_as_string(hide_password=False)


@pytest.mark.timeout(1800)
async def test_the_same_five_steps_three_ways_and_the_booking_saga(
    sessions: Any, partner_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    global _writes
    writes = _writes = PeerWrites(sessions)
    await writes.create_table()
    dbos.DBOS(config={"name": "stepwise-bench-peers", "system_database_url": _dbos_url(sessions)})
    dbos.DBOS.launch()
    rates: dict[str, list[float]] = {name: [] for name in (*TEMPORAL_PEERS, "DBOS", "booking saga")}
    try:
        async with pipeline_worker(
            sessions,
            partner_http,
            monkeypatch,
            workflows=[PeerStepwiseWorkflow, PeerBareWorkflow],
            activities=[writes.write, peer_noop],
        ) as stack:
            flight = new_flight(stack.resources, seats=WARM_UP + ROUNDS * COUNT + 10)
            for kind in TEMPORAL_PEERS.values():
                await measure_driven(stack.client, stack.task_queue, kind, WARM_UP)
            await measure_driven(stack.client, stack.task_queue, "booking", WARM_UP, flight=flight)
            await _dbos_round(WARM_UP)
            for _ in range(ROUNDS):
                for name, kind in TEMPORAL_PEERS.items():
                    throughput = await measure_driven(stack.client, stack.task_queue, kind, COUNT, in_flight=IN_FLIGHT)
                    rates[name].append(throughput.per_second)
                rates["DBOS"].append(await _dbos_round(COUNT))
                saga = await measure_driven(
                    stack.client, stack.task_queue, "booking", COUNT, in_flight=IN_FLIGHT, flight=flight
                )
                rates["booking saga"].append(saga.per_second)
        written = await writes.count()
    finally:
        dbos.DBOS.destroy()
        await writes.drop_table()
    runs = (WARM_UP + ROUNDS * COUNT) * (len(TEMPORAL_PEERS) + 1)  # the Temporal peers and DBOS
    assert written == runs * 3, f"{written} writes, expected {runs * 3}"
    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    print(f"\npeers, five trivial steps (3 Postgres writes, 2 no-ops), {IN_FLIGHT} in flight, {COUNT} a round:")
    for name, values in rates.items():
        print(f"  {name:<16} {spread(values)} workflows/s (min / median / max of {ROUNDS} rounds)")
    overhead = 1 - median["stepwise runner"] / median["bare Temporal"]
    print(f"  step runner's overhead against bare Temporal: {overhead * 100:+.1f} % (target within 10 %)")
    print(f"  DBOS / stepwise runner: {median['DBOS'] / median['stepwise runner']:.2f}x (target <= 1.3)")
    local_overhead = 1 - median["runner, local"] / median["bare, local"]
    print(f"  with local activities: the runner's overhead against bare Temporal {local_overhead * 100:+.1f} %,")
    print(f"  DBOS / runner with local activities: {median['DBOS'] / median['runner, local']:.2f}x")
