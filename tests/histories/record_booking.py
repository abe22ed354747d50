"""Record the booking histories replayed by tests/test_replay.py.

    .venv/bin/python -m tests.histories.record_booking

Runs the saga on the time-skipping server with the name-matched mock activities (the
history is the same shape as with real ones) and writes one JSON file per scenario.
Re-record only when a workflow change is meant to be incompatible, and then guard the
change with ``workflow.patched`` instead where running executions exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.e2e.booking_support import booking_request
from tests.workflows.booking.mocks import MockBookingActivities
from worker.devstack.temporal_server import test_server_binary
from workflows.booking.workflow import BookingWorkflow

HERE = Path(__file__).parent
SCENARIOS = {
    "booking_confirmed": {},
    "booking_payment_declined": {
        "collect_payment": ApplicationError("declined", type="PaymentDeclined", non_retryable=True)
    },
}


async def main() -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
    try:
        for name, failures in SCENARIOS.items():
            queue = f"record-{uuid.uuid4()}"
            mocks = MockBookingActivities(failures=dict(failures))
            async with Worker(env.client, task_queue=queue, workflows=[BookingWorkflow], activities=mocks.activities()):
                request = booking_request("FL-100", request_id=f"{name}-recorded")
                handle = await env.client.start_workflow(
                    BookingWorkflow.run, request, id=f"booking-{request.request_id}", task_queue=queue
                )
                with contextlib.suppress(WorkflowFailureError):
                    await handle.result()
                history = await handle.fetch_history()
            (HERE / f"{name}.json").write_text(history.to_json())
            print(f"wrote {name}.json ({len(history.events)} events)")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
