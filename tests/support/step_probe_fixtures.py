"""Fixtures for tests of step control through the probe workflow (loaded by tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.decision_log import DecisionLog
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.step_control import StepControlActivities
from tests.workflows.common.continuing_probe import ContinuingProbeWorkflow
from tests.workflows.common.step_probe import (
    ProbeActivities,
    ProbeChildWorkflow,
    ProbeInput,
    ProbeResult,
    StepProbeWorkflow,
)


@pytest.fixture
def probe() -> ProbeActivities:
    """The probe's activities: arm a step to make it fail, read its run counts."""
    return ProbeActivities()


@pytest.fixture
def step_control_activities(aws: AwsClients, sessions: SessionMaker, resources: Resources) -> StepControlActivities:
    """The real step-control activities: audit rows in Postgres, notices through the ledger to SNS."""
    return StepControlActivities(DecisionLog(sessions), Notifier(aws, sessions), resources)


@pytest.fixture
async def probe_worker(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    probe: ProbeActivities,
    step_control_activities: StepControlActivities,
) -> AsyncIterator[Worker]:
    """A worker with the probe workflows (one that continues as new) and the real step-control activities."""
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[StepProbeWorkflow, ProbeChildWorkflow, ContinuingProbeWorkflow],
        activities=[probe.step, probe.cleanup, step_control_activities.record_decision, step_control_activities.notify],
    ) as worker:
        yield worker


async def start_probe(client: Client, task_queue: str, request: ProbeInput) -> WorkflowHandle[Any, ProbeResult]:
    """Start a probe execution tagged with pipeline ``probe``."""
    workflow_id = f"probe-{uuid.uuid4()}"
    return await client.start_workflow(
        StepProbeWorkflow.run,
        request,
        id=workflow_id,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.PIPELINE, "probe"),
                SearchAttributePair(search_attributes.BUSINESS_KEY, workflow_id),
            ]
        ),
    )
