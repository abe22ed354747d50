"""Record the translation histories replayed by tests/workflows/translation/test_translation_replay.py.

    .venv/bin/python -m tests.histories.record_translation [SCENARIO ...]

Runs TranslationProjectWorkflow and its pairs on the time-skipping server with the
name-matched mock activities (the histories have the same shape as with real ones) and
writes one JSON file per scenario (every scenario when none is named):

* ``translation_project_delivered``: a project of two pairs approved at the ``review`` gate
  and delivered (the project's history: both children, the gate's update);
* ``translation_project_sent_back``: a project rejected at ``review`` with a comment, then
  approved at ``review-2`` (the project's history: two rounds, two updates);
* ``translation_pair_resubmitted``: a pair whose first job dropped segments, so the
  incomplete file went once more, alone, and that job completed it (the pair's history:
  two jobs, no verify step).

Re-record only when a workflow change is meant to be incompatible; where executions may be
running, guard the change with ``workflow.patched`` instead.
"""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.translation.contracts import ProjectRequest, ProjectResult, pair_name, project_workflow_id
from tests.histories.recording import Scenario, main
from tests.support.runner import TEST_RUNNER
from tests.support.step_control import wait_waiting
from tests.workflows.translation.mocks import MockTranslation
from workflows.catalog import WORKFLOWS
from workflows.translation.project import TranslationProjectWorkflow

CUSTOMER = "acme"
REVIEWER = "translator-lena"


def recorded_project(name: str) -> str:
    """The project name a scenario is recorded under."""
    return f"{name.removeprefix('translation_').replace('_', '-')}-recorded"


def recorded_request(name: str) -> ProjectRequest:
    """The request a scenario is recorded with."""
    return ProjectRequest(
        CUSTOMER,
        recorded_project(name),
        "stepwise-translation",
        "stepwise-translation-staging",
        "arn:aws:iam::123456789012:role/stepwise-translate",
        settle_seconds=1,
        poll_seconds=1,
    )


RECORDED_WORKFLOW_IDS = {
    "translation_project_delivered": project_workflow_id(CUSTOMER, recorded_project("translation_project_delivered")),
    "translation_project_sent_back": project_workflow_id(CUSTOMER, recorded_project("translation_project_sent_back")),
    "translation_pair_resubmitted": project_workflow_id(CUSTOMER, recorded_project("translation_pair_resubmitted"))
    + f"-{pair_name('en', 'es')}",
}
"""The workflow id of each recorded history (the replay runs it under the same id)."""


async def _decide(handle: WorkflowHandle[TranslationProjectWorkflow, ProjectResult], gate: str, action: str) -> None:
    await wait_waiting(handle, gate)
    reason = "approved as staged" if action == "approve" else "the glossary term for 'checkout' was not used"
    decision = StepDecision(gate, action, operator=REVIEWER, reason=reason)
    await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)


async def _project(
    env: WorkflowEnvironment, name: str, mocks: MockTranslation, answers: list[tuple[str, str]], history_of: str
) -> str:
    """Run one project through its review ``answers`` (gate, action); the history of ``history_of`` as JSON."""
    queue = f"record-{uuid.uuid4()}"
    request = recorded_request(name)
    async with Worker(
        env.client, task_queue=queue, workflows=WORKFLOWS, activities=mocks.activities(), workflow_runner=TEST_RUNNER
    ):
        handle = await env.client.start_workflow(
            TranslationProjectWorkflow.run,
            request,
            id=project_workflow_id(request.customer, request.project),
            task_queue=queue,
        )
        for gate, action in answers:
            await _decide(handle, gate, action)
        await handle.result()
        return (await env.client.get_workflow_handle(history_of).fetch_history()).to_json()


async def project_delivered(env: WorkflowEnvironment) -> str:
    name = "translation_project_delivered"
    mocks = MockTranslation(slot_waits=1, job_polls=1)
    return await _project(env, name, mocks, [("review", "approve")], RECORDED_WORKFLOW_IDS[name])


async def project_sent_back(env: WorkflowEnvironment) -> str:
    name = "translation_project_sent_back"
    answers = [("review", "reject"), ("review-2", "approve")]
    return await _project(env, name, MockTranslation(), answers, RECORDED_WORKFLOW_IDS[name])


async def pair_resubmitted(env: WorkflowEnvironment) -> str:
    name = "translation_pair_resubmitted"
    mocks = MockTranslation(pairs=[("en", "es")], incomplete={"en-es": 1})
    return await _project(env, name, mocks, [("review", "approve")], RECORDED_WORKFLOW_IDS[name])


SCENARIOS: dict[str, Scenario] = {
    "translation_project_delivered": project_delivered,
    "translation_project_sent_back": project_sent_back,
    "translation_pair_resubmitted": pair_resubmitted,
}


if __name__ == "__main__":
    main(SCENARIOS)
