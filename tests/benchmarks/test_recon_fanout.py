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


@pytest.mark.benchmark
async def test_comparison_fan_out_efficiency(dev_env: WorkflowEnvironment) -> None:
    mock = MockRecon(reports=COMPARISONS, compare_seconds=SECONDS_EACH)
    run = f"bench{uuid.uuid4().hex[:8]}"
    request = ReconciliationInput(
        client_id="bench",
        baseline="v1",
        candidate="v2",
        run=run,
        snapshot_uri="s3://bucket/snapshot.sql",
        report_packs_uri="s3://bucket/packs/",
        max_parallel_comparisons=IN_FLIGHT,
        max_parallel_reports=20,
        signoff_required=False,
    )
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=mock.activities(),
        max_concurrent_activities=50,
    ):
        await dev_env.client.execute_workflow(
            ReconciliationWorkflow.run, request, id=reconciliation_id("bench", run), task_queue=task_queue
        )
    actual = max(mock.compare_finished) - min(mock.compare_started)
    ideal = COMPARISONS * SECONDS_EACH / IN_FLIGHT
    print(
        f"\nfan-out: {COMPARISONS} comparisons x {SECONDS_EACH * 1000:.0f} ms, N={IN_FLIGHT}: "
        f"ideal {ideal:.2f} s, actual {actual:.2f} s, efficiency (ideal/actual) {ideal / actual:.2f}, "
        f"max in flight {mock.max_in_flight}"
    )
    assert mock.calls["compare"] == COMPARISONS
    assert mock.max_in_flight <= IN_FLIGHT
