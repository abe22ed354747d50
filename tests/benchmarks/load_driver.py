"""A benchmark's load, driven from a process of its own so the measured process is the worker alone.

    python -m tests.benchmarks.load_driver --address HOST:PORT --task-queue Q \
        --workflow noop|booking|peer-{stepwise,bare}[-local] --count N [--in-flight K] [--flight ID]

Starts ``count`` workflows, at most ``in-flight`` at a time, waits for every result and
prints one JSON line: ``{"count": N, "seconds": wall time from first start to last result}``.
A workflow that fails makes the driver exit non-zero: a benchmark of failures is no benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable

from temporalio.client import Client

from tests.benchmarks.noop_workflow import BenchNoopWorkflow
from tests.benchmarks.peer_workflows import PeerBareWorkflow, PeerRun, PeerStepwiseWorkflow
from tests.e2e.booking_support import booking_request
from workflows.booking.workflow import BookingWorkflow

PEERS = {
    "peer-stepwise": (PeerStepwiseWorkflow.run, False),
    "peer-bare": (PeerBareWorkflow.run, False),
    "peer-stepwise-local": (PeerStepwiseWorkflow.run, True),
    "peer-bare-local": (PeerBareWorkflow.run, True),
}
"""``--workflow`` -> the peer's workflow, and whether its steps run as local activities."""


def _starter(client: Client, workflow: str, task_queue: str, flight: str | None) -> Callable[[int], Awaitable[object]]:
    if workflow == "noop":
        return lambda i: client.execute_workflow(
            BenchNoopWorkflow.run, i, id=f"bench-noop-{uuid.uuid4()}", task_queue=task_queue
        )
    if workflow in PEERS:
        peer, local = PEERS[workflow]
        return lambda i: client.execute_workflow(
            peer,
            PeerRun(f"{workflow}-{uuid.uuid4()}", local),
            id=f"bench-{workflow}-{uuid.uuid4()}",
            task_queue=task_queue,
        )
    if workflow == "booking" and flight:

        async def book(_: int) -> object:
            request = booking_request(flight)
            return await client.execute_workflow(
                BookingWorkflow.run, request, id=f"booking-{request.request_id}", task_queue=task_queue
            )

        return book
    raise SystemExit(f"unknown workflow {workflow!r} (booking needs --flight)")


async def drive(address: str, task_queue: str, workflow: str, count: int, in_flight: int, flight: str | None) -> float:
    """Run the load; returns the wall time in seconds."""
    client = await Client.connect(address)
    start_one = _starter(client, workflow, task_queue, flight)
    slots = asyncio.Semaphore(in_flight)

    async def bounded(i: int) -> object:
        async with slots:
            return await start_one(i)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(i) for i in range(count)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--workflow", choices=["noop", "booking", *PEERS], required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--flight")
    args = parser.parse_args()
    seconds = asyncio.run(drive(args.address, args.task_queue, args.workflow, args.count, args.in_flight, args.flight))
    print(json.dumps({"count": args.count, "seconds": seconds}), flush=True)
    # Leave without interpreter teardown: the SDK's native threads can abort a normal exit.
    os._exit(0)


if __name__ == "__main__":
    main()
