"""No dashboard panel and no alert points at a metric the worker does not export.

The real worker (``run_worker``, Temporal runtime with its Prometheus endpoint) runs
bookings on the test stack; then every metric name read from the Grafana dashboards'
queries and the alert rules' expressions must be in its ``/metrics`` output.

Three bookings rather than one, because the Temporal SDK creates each counter on its first
event (``temporal_workflow_completed`` on the first completion, a failure counter on the
first failure), and the saga ends in three ways: confirmed; a declined card, which fails a
regular activity (collect_payment) and compensates; a full flight, which fails a local
activity (reserve_seats). Together they leave every family the dashboards read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from tests.deploy.support import alert_rules, dashboard_queries, dashboards, exported_names, metric_names
from tests.e2e.booking_support import booking_request, new_flight
from tests.support.running_worker import running_worker
from worker.services.booking import submit_booking, workflow_id
from worker.settings import Settings
from workflows.booking.workflow import BookingWorkflow


def referenced_metrics() -> dict[str, set[str]]:
    """Metric name -> where it is used (dashboard file or alert name)."""
    used: dict[str, set[str]] = {}
    for file_name, dashboard in dashboards().items():
        for query in dashboard_queries(dashboard):
            for name in metric_names(query):
                used.setdefault(name, set()).add(file_name)
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(rule["alert"])
    return used


def test_metric_names_are_read_from_promql_as_prometheus_would() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, task_queue) (rate(temporal_x_bucket{namespace=~"$namespace",'
        ' task_queue=~"$task_queue"}[$__rate_interval]))) > 1000 and on (task_queue) stepwise_y offset 5m'
        ' or label_replace(stepwise_z, "dst", "$1", "src", "(.*)") unless sum(rate(stepwise_w[5m])) by (q)'
    )
    assert metric_names(expr) == {"temporal_x_bucket", "stepwise_y", "stepwise_z", "stepwise_w"}
    used = referenced_metrics()
    assert {"temporal_workflow_failed", "stepwise_dlq_depth", "stepwise_bookings_total"} <= set(used)
    assert {"stepwise_steps_parked_total", "stepwise_attention_oldest_waiting_seconds"} <= set(used)


async def _book(env: WorkflowEnvironment, settings: Settings, request: Any) -> str:
    """The booking's end: CONFIRMED or the failure type."""
    await submit_booking(env.client, settings.worker.task_queue, request)
    try:
        result = await env.client.get_workflow_handle_for(BookingWorkflow.run, workflow_id(request.request_id)).result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        return str(cause.type) if isinstance(cause, ApplicationError) else repr(cause)
    return result.status


async def test_every_metric_a_dashboard_or_alert_names_is_exported_by_a_worker_that_ran_bookings(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flight, full_flight = new_flight(resources, seats=5), new_flight(resources, seats=0)
    requests = [booking_request(flight), booking_request(flight, token="tok_declined"), booking_request(full_flight)]
    async with running_worker(dev_env, settings, monkeypatch) as worker:
        ends = await asyncio.gather(*(_book(dev_env, settings, request) for request in requests))
        exposition = await worker.metrics()

    assert ends == ["CONFIRMED", "PaymentDeclined", "FlightFull"]

    exported = exported_names(exposition)
    missing = {name: sorted(where) for name, where in referenced_metrics().items() if name not in exported}
    assert not missing, f"named on a dashboard or in an alert but not exported: {missing}"
