"""The aws-ssm provider: Run Command against the AWS emulator, Automation with botocore's Stubber
(the emulator does not implement SSM Automation)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.recon.contracts import EnvironmentRef, ReportSpec, RunReportInput
from activities.recon.providers import environment_name
from activities.recon.ssm import OperationPending, SsmProvider

EXECUTION = "0f3c1a8e-5b2d-4c7e-9a61-2d8b4f6e1c90"


@pytest.fixture
def env() -> EnvironmentRef:
    return EnvironmentRef("aws-ssm", f"recon-ssm-{uuid.uuid4().hex[:8]}", "v2", {"instance_id": "i-0123456789abcdef0"})


@pytest.fixture
def stubbed(env: EnvironmentRef) -> Iterator[tuple[SsmProvider, Stubber]]:
    aws = AwsClients()
    client = aws.client("ssm")
    with Stubber(client) as stubber:
        yield SsmProvider(aws), stubber
        stubber.assert_no_pending_responses()


def _start(stubber: Stubber, env: EnvironmentRef, document: str, parameters: dict[str, Any]) -> None:
    stubber.add_response(
        "start_automation_execution",
        {"AutomationExecutionId": EXECUTION},
        {"DocumentName": document, "Parameters": parameters, "ClientToken": ANY},
    )


def _status(stubber: Stubber, status: str, failure: str = "") -> None:
    execution: dict[str, Any] = {"AutomationExecutionId": EXECUTION, "AutomationExecutionStatus": status}
    if failure:
        execution["FailureMessage"] = failure
    stubber.add_response(
        "get_automation_execution", {"AutomationExecution": execution}, {"AutomationExecutionId": EXECUTION}
    )


async def test_provision_is_polled_until_the_automation_succeeds(
    env: EnvironmentRef, stubbed: tuple[SsmProvider, Stubber]
) -> None:
    provider, stubber = stubbed
    parameters = {"EnvironmentId": [environment_name(env)], "Version": ["v2"]}
    _start(stubber, env, "Stepwise-ProvisionEnvironment", parameters)
    _status(stubber, "InProgress")
    with pytest.raises(OperationPending) as pending:
        await provider.provision(env)
    assert pending.value.type == "OperationPending" and not pending.value.non_retryable
    _start(stubber, env, "Stepwise-ProvisionEnvironment", parameters)
    _status(stubber, "Success")
    info = await provider.provision(env)
    assert info.environment_id == environment_name(env)


async def test_a_failed_restore_automation_is_not_retried(
    env: EnvironmentRef, stubbed: tuple[SsmProvider, Stubber]
) -> None:
    provider, stubber = stubbed
    uri = "s3://bucket/snap.sql"
    _start(stubber, env, "Stepwise-RestoreSnapshot", {"EnvironmentId": [environment_name(env)], "SnapshotUri": [uri]})
    _status(stubber, "Failed", "disk full")
    with pytest.raises(ApplicationError) as failed:
        await provider.restore(env, uri)
    assert failed.value.type == "OperationFailed" and failed.value.non_retryable and "disk full" in failed.value.message


async def test_the_automation_start_token_is_the_same_on_every_attempt(env: EnvironmentRef) -> None:
    tokens = []
    aws = AwsClients()
    with Stubber(aws.client("ssm")) as stubber:
        for _ in range(2):
            stubber.add_response("start_automation_execution", {"AutomationExecutionId": EXECUTION})
            _status(stubber, "Success")
        client = aws.client("ssm")
        client.meta.events.register(
            "provide-client-params.ssm.StartAutomationExecution",
            lambda params, **_: tokens.append(params["ClientToken"]),
        )
        await SsmProvider(aws).teardown(env)
        await SsmProvider(aws).teardown(env)
    assert len(tokens) == 2 and tokens[0] == tokens[1]


async def test_a_report_command_is_sent_once_and_found_again_on_retry(
    env: EnvironmentRef, resources: Resources
) -> None:
    provider = SsmProvider(AwsClients())
    request = RunReportInput(env, "s3://bucket/packs/", ReportSpec("loan_balances", ["loan_id"], "loan_balances.sql"))
    uri = f"s3://{resources.reports_bucket}/recon/runs/{env.run_id}/v2/loan_balances.csv"
    first = await provider.run_report(request, "SELECT 1", uri)
    second = await provider.run_report(request, "SELECT 1", uri)
    assert first.uri == second.uri == uri and first.rows == -1
    listed = await AwsClients().call("ssm", "list_commands", InstanceId="i-0123456789abcdef0")
    mine = [
        c
        for c in listed["Commands"]
        if c.get("Comment", "").endswith("loan_balances") and environment_name(env) in c["Comment"]
    ]
    assert len(mine) == 1
    assert mine[0]["DocumentName"] == "Stepwise-RunReport"
    assert mine[0]["Parameters"]["OutputUri"] == [uri]


async def test_a_report_without_an_instance_is_invalid(env: EnvironmentRef) -> None:
    bare = EnvironmentRef("aws-ssm", env.run_id, "v2")
    with pytest.raises(ApplicationError) as invalid:
        await SsmProvider(AwsClients()).run_report(RunReportInput(bare, "", ReportSpec("r", ["k"])), "", "s3://b/k")
    assert invalid.value.type == "InvalidReconciliation" and "instance_id" in invalid.value.message
