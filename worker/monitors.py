"""What the worker measures besides its workflows and activities, on the same /metrics endpoint.

* **Dead-letter queue depth.** Nothing inside a pipeline knows how many dead letters are
  waiting, so the worker reads ``ApproximateNumberOfMessages`` of every dead-letter queue
  that ``activities.common.resources`` declares, every :data:`DLQ_POLL_SECONDS`, and exports the
  gauge ``stepwise_dlq_depth{queue}``. Every replica reports the same depth: dashboards and
  alerts take ``max by (queue)``. A failed read is logged and leaves the last value.
* **Business counters start at zero.** Prometheus's ``rate()``/``increase()`` need a sample
  before the first increment, otherwise the first booking of a new worker is invisible to
  them (and to the alerts built on them). At start the worker adds 0 to each business
  counter under the *same* label set the workflows use later (Temporal's workflow meter adds
  ``namespace``, ``task_queue`` and ``workflow_type``). The step-control counters are
  labelled by pipeline and step, which are only known when a step parks: they start as one
  series without those labels, which makes the family exist (panels show 0, not "no data").

Both go through the Temporal runtime's metric meter, the one the SDK's own metrics use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from opentelemetry.instrumentation.utils import suppress_instrumentation
from temporalio.common import MetricMeter

from activities.common.aws import AwsClients
from workflows.booking.workflow import BookingWorkflow

log = logging.getLogger("stepwise.monitors")

DLQ_POLL_SECONDS = 30.0
"""How often each dead-letter queue's depth is read (SQS updates the figure about once a minute)."""

DLQ_DEPTH = "stepwise_dlq_depth"

BOOKING_OUTCOMES = ("confirmed", "failed", "cancelled_by_customer")
"""The ``outcome`` label values of ``stepwise_bookings_total`` (see BookingWorkflow._record_outcome)."""
BOOKING_COMPENSATIONS = ("refund_payment", "cancel_booking", "release_seats")
"""The ``step`` label values of ``stepwise_booking_compensations_total``."""
COMPENSATION_RESULTS = ("ok", "failed")

STEP_CONTROL_COUNTERS = {
    "stepwise_steps_parked_total": "Steps parked for an operator, by pipeline and step",
    "stepwise_decisions_total": "Operator decisions, by pipeline and action",
}


class DlqMonitor:
    """Exports the depth of each dead-letter queue as ``stepwise_dlq_depth{queue}``."""

    def __init__(
        self, aws: AwsClients, queues: Sequence[str], meter: MetricMeter, *, interval: float = DLQ_POLL_SECONDS
    ) -> None:
        self._aws = aws
        self._queues = list(queues)
        self._interval = interval
        self._gauge = meter.create_gauge(DLQ_DEPTH, "Messages waiting in a dead-letter queue")

    async def poll_once(self) -> None:
        """Read every queue's depth once; a queue that cannot be read keeps its last value."""
        # The monitor's own SQS calls are housekeeping, not pipeline work: keep them out of traces.
        with suppress_instrumentation():
            for queue in self._queues:
                try:
                    depth = await self._depth(queue)
                except Exception as error:
                    log.warning("dead-letter queue %s: depth not read: %s: %s", queue, type(error).__name__, error)
                    continue
                self._gauge.set(depth, {"queue": queue})

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await self.poll_once()
            await asyncio.sleep(self._interval)

    async def _depth(self, queue: str) -> int:
        response = await self._aws.call(
            "sqs",
            "get_queue_attributes",
            QueueUrl=await self._aws.queue_url(queue),
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        return int(response["Attributes"]["ApproximateNumberOfMessages"])


def initialise_business_counters(meter: MetricMeter, *, namespace: str, task_queue: str) -> None:
    """Add 0 to every business counter so its series exist before the first event."""
    worker_labels = {"namespace": namespace, "task_queue": task_queue}
    # BookingWorkflow is registered under its class name, which the workflow meter reports.
    booking = meter.with_additional_attributes({**worker_labels, "workflow_type": BookingWorkflow.__name__})
    bookings = booking.create_counter("stepwise_bookings_total", "Bookings by outcome")
    for outcome in BOOKING_OUTCOMES:
        bookings.add(0, {"outcome": outcome})
    compensations = booking.create_counter("stepwise_booking_compensations_total", "Compensations run, by step")
    for step in BOOKING_COMPENSATIONS:
        for result in COMPENSATION_RESULTS:
            compensations.add(0, {"step": step, "result": result})
    neutral = meter.with_additional_attributes(worker_labels)
    for name, description in STEP_CONTROL_COUNTERS.items():
        neutral.create_counter(name, description).add(0)


@contextlib.asynccontextmanager
async def worker_monitors(
    meter: MetricMeter, aws: AwsClients, dead_letter_queues: Sequence[str], *, namespace: str, task_queue: str
) -> AsyncIterator[DlqMonitor]:
    """Initialise the counters and watch the dead-letter queues while the worker runs."""
    initialise_business_counters(meter, namespace=namespace, task_queue=task_queue)
    monitor = DlqMonitor(aws, dead_letter_queues, meter)
    task = asyncio.create_task(monitor.run(), name="dlq-monitor")
    try:
        yield monitor
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
