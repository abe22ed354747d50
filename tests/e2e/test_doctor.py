"""`stepwise doctor` end to end: the CLI starts the diagnostic workflow on a running worker."""

from __future__ import annotations

from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.common.resources import Resources
from tests.support.processes import stack_env, stepwise
from worker.settings import Settings


async def test_doctor_reports_every_dependency_ok(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, stepwise_worker: Any
) -> None:
    async with stepwise_worker(dev_env.client):
        result = await _doctor(dev_env, settings)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in lines] == ["postgres", "s3", "dynamodb", "sqs", "sns", "temporal-visibility"]
    assert all(line.split()[1] == "OK" for line in lines)
    assert "schema revision" in lines[0]


async def test_doctor_names_the_precise_error_of_a_broken_dependency(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    stepwise_worker: Any,
    sessions: Any,
    aws: Any,
    partner_http: Any,
) -> None:
    from tests.conftest import make_deps
    from worker.registry import create_worker

    # A worker configured for an environment whose AWS resources were never created.
    deps = make_deps(dev_env.client, sessions, Resources(prefix="missing-"), aws, partner_http, settings)
    async with create_worker(dev_env.client, settings, deps):
        result = await _doctor(dev_env, settings)
    assert result.returncode == 1, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.strip().splitlines()}
    assert lines["postgres"].split()[1] == "OK"
    assert lines["s3"].split()[1] == "ERROR"
    assert "s3.head_bucket" in lines["s3"] and ("404" in lines["s3"] or "NotFound" in lines["s3"])
    assert "missing-flights" in lines["dynamodb"] or "ResourceNotFound" in lines["dynamodb"]


async def _doctor(env: WorkflowEnvironment, settings: Settings) -> Any:
    import asyncio

    return await asyncio.to_thread(stepwise, "doctor", "--timeout", "30", env=stack_env(env, settings))
