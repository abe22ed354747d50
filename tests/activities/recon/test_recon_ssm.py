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
from activities.recon.ssm import OperationPending, SsmProvider, report_comment

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


async def test_reports_whose_long_names_share_their_start_are_two_commands(resources: Resources) -> None:
    # SSM keeps 100 characters of a comment: a long environment name and long report names
    # once cut them to the same comment, and the second report found the first one's command.
    run_id = f"recon-bank-of-example-2026-q4-{uuid.uuid4().hex[:8]}"
    env = EnvironmentRef("aws-ssm", run_id, "candidate-v2", {"instance_id": "i-0123456789abcdef1"})
    provider = SsmProvider(AwsClients())
    uris = {}
    for name in ("loan_portfolio_summary_by_region_2023", "loan_portfolio_summary_by_region_2024"):
        request = RunReportInput(env, "s3://bucket/packs/", ReportSpec(name, ["id"], f"{name}.sql"))
        uris[name] = f"s3://{resources.reports_bucket}/recon/runs/{run_id}/v2/{name}.csv"
        for _ in range(2):  # the retry finds its own command
            assert (await provider.run_report(request, f"SELECT 1 -- {name}", uris[name])).uri == uris[name]
    listed = await AwsClients().call("ssm", "list_commands", InstanceId="i-0123456789abcdef1")
    mine = [c for c in listed["Commands"] if environment_name(env) in c.get("Comment", "")]
    assert sorted(c["Parameters"]["OutputUri"][0] for c in mine) == sorted(uris.values())
    assert len({c["Comment"] for c in mine}) == 2 and all(len(c["Comment"]) <= 100 for c in mine)


async def test_a_command_on_a_later_page_of_the_list_is_found_again(env: EnvironmentRef) -> None:
    aws = AwsClients()
    request = RunReportInput(env, "s3://bucket/packs/", ReportSpec("loan_balances", ["loan_id"], "loan_balances.sql"))
    comment = report_comment(environment_name(env), "loan_balances")
    instance = env.options["instance_id"]
    listing = {"InstanceId": instance, "Filters": [{"key": "DocumentName", "value": "Stepwise-RunReport"}]}
    with Stubber(aws.client("ssm")) as stubber:
        others = [{"CommandId": str(uuid.uuid4()), "Comment": "stepwise another report"} for _ in range(3)]
        ours = str(uuid.uuid4())
        stubber.add_response("list_commands", {"Commands": others, "NextToken": "page-2"}, listing)
        stubber.add_response(
            "list_commands",
            {"Commands": [{"CommandId": ours, "Comment": comment}]},
            {**listing, "NextToken": "page-2"},
        )
        stubber.add_response(
            "get_command_invocation", {"Status": "Success"}, {"CommandId": ours, "InstanceId": instance}
        )
        output = await SsmProvider(aws).run_report(request, "SELECT 1", "s3://bucket/out.csv")  # no send_command
        stubber.assert_no_pending_responses()
    assert output.uri == "s3://bucket/out.csv"
