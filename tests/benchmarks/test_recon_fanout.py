"""Bounded fan-out efficiency of the reconciliation's comparisons (DESIGN §11).

200 comparisons of 100 ms each with at most N = 5 in flight: the ideal is
200 x 0.1 s / 5 = 4 s. The ratio ideal / actual (1.0 = no orchestration overhead) and
the maximum observed in flight are printed; the latter must never exceed N.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.recon.contracts import ReconciliationInput
from tests.support.recon_mocks import MockRecon
from workflows.catalog import WORKFLOWS
from workflows.recon.reconciliation import ReconciliationWorkflow, reconciliation_id

COMPARISONS = 200
SECONDS_EACH = 0.1
IN_FLIGHT = 5


ROUNDS = 3


@pytest.mark.benchmark
async def test_comparison_fan_out_efficiency(dev_env: WorkflowEnvironment) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    efficiencies: list[float] = []
    most_in_flight = 0
    ideal = COMPARISONS * SECONDS_EACH / IN_FLIGHT
    for _ in range(ROUNDS):
        mock = MockRecon(reports=COMPARISONS, compare_seconds=SECONDS_EACH)
        request = _request()
        async with Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=mock.activities(),
            max_concurrent_activities=50,
        ):
            await dev_env.client.execute_workflow(
                ReconciliationWorkflow.run, request, id=reconciliation_id("bench", request.run), task_queue=task_queue
            )
        assert mock.calls["compare"] == COMPARISONS
        actual = max(mock.compare_finished) - min(mock.compare_started)
        efficiencies.append(ideal / actual)
        most_in_flight = max(most_in_flight, mock.max_in_flight)
    print(
        f"\nfan-out: {COMPARISONS} comparisons x {SECONDS_EACH * 1000:.0f} ms, N={IN_FLIGHT}, ideal {ideal:.2f} s: "
        f"efficiency (ideal/actual) {' / '.join(f'{e:.2f}' for e in sorted(efficiencies))} "
        f"(min / median / max of {ROUNDS} rounds; target >= 0.95), max in flight {most_in_flight}"
    )
    assert most_in_flight <= IN_FLIGHT


def _request() -> ReconciliationInput:
    return ReconciliationInput(
        client_id="bench",
        baseline="v1",
        candidate="v2",
        run=f"bench{uuid.uuid4().hex[:8]}",
        snapshot_uri="s3://bucket/snapshot.sql",
        report_packs_uri="s3://bucket/packs/",
        max_parallel_comparisons=IN_FLIGHT,
        max_parallel_reports=20,
        signoff_required=False,
    )
