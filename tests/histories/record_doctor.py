"""Record the doctor histories replayed by tests/workflows/doctor/test_doctor_replay.py.

    .venv/bin/python -m tests.histories.record_doctor [SCENARIO ...]

Runs DoctorWorkflow on the time-skipping server with the name-matched mock probes
(``tests.workflows.doctor.mocks``; the histories have the same shape as with real ones),
started as ``stepwise doctor`` starts it (its probe id as the workflow id, an execution
timeout), and writes one JSON file per scenario (every scenario when none is named):

* ``doctor_all_healthy``: all six probes answer; the report is healthy;
* ``doctor_sqs_queue_missing``: the SQS probe finds a queue missing (a non-retryable
  ``AwsNotFound``, one attempt); the other five answer and the report names the failure.

Re-record only when a workflow change is meant to be incompatible; where executions may be
running, guard the change with ``workflow.patched`` instead.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common.contracts import AWS_NOT_FOUND
from activities.doctor.contracts import DoctorReport, ProbeInput
from tests.histories.recording import Scenario, main
from tests.support.runner import catalog_worker
from tests.workflows.doctor.mocks import MockDoctor
from workflows.doctor.workflow import DoctorWorkflow

EXECUTION_TIMEOUT = timedelta(seconds=60)
"""``stepwise doctor``'s default wait: the CLI gives the run this long."""

RECORDED_WORKFLOW_IDS = {
    "doctor_all_healthy": "doctor-all-healthy-recorded",
    "doctor_sqs_queue_missing": "doctor-sqs-queue-missing-recorded",
}
"""The workflow id (the probe id) of each recorded history."""

QUEUE_MISSING = ApplicationError(
    "sqs.get_queue_url: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.",
    {"code": "AWS.SimpleQueueService.NonExistentQueue", "status": 400},
    type=AWS_NOT_FOUND,
    non_retryable=True,
)


async def _doctor(env: WorkflowEnvironment, name: str, mocks: MockDoctor) -> tuple[DoctorReport, str]:
    """Run one doctor to its report; the report and the history as JSON."""
    probe_id = RECORDED_WORKFLOW_IDS[name]
    queue = f"record-{uuid.uuid4()}"
    async with catalog_worker(env, queue, mocks.activities()):
        handle = await env.client.start_workflow(
            DoctorWorkflow.run, ProbeInput(probe_id), id=probe_id, task_queue=queue, execution_timeout=EXECUTION_TIMEOUT
        )
        report = await handle.result()
        return report, (await handle.fetch_history()).to_json()


async def all_healthy(env: WorkflowEnvironment) -> str:
    report, history = await _doctor(env, "doctor_all_healthy", MockDoctor())
    assert report.healthy and len(report.checks) == 6, report
    return history


async def sqs_queue_missing(env: WorkflowEnvironment) -> str:
    report, history = await _doctor(env, "doctor_sqs_queue_missing", MockDoctor(failures={"sqs": QUEUE_MISSING}))
    assert [check.dependency for check in report.checks if not check.ok] == ["sqs"], report
    return history


SCENARIOS: dict[str, Scenario] = {
    "doctor_all_healthy": all_healthy,
    "doctor_sqs_queue_missing": sqs_queue_missing,
}


if __name__ == "__main__":
    main(SCENARIOS)
