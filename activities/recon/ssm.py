"""The ``aws-ssm`` environment provider: SSM Automation provisions and restores, Run Command runs reports.

This is the article's own architecture (SSM Automation for the long PowerShell steps,
no 15-minute ceiling). Each call makes sure its job is started, idempotently, then
checks it once: ``OperationPending`` (retryable, benign) while it runs, so the
activity's retry policy is the poll loop and history grows by nothing while it waits.

* Automations are started with a ``ClientToken`` derived from run, version and
  operation, so a retried start returns the same execution.
* Commands carry a deterministic ``Comment`` unique to environment and report (a digest of
  both leads it); a retried attempt finds the command it already sent instead of sending
  another. A command sent before the digest led the comment is not found again: the report
  runs once more, into the same output file.

Options (``provider_options``): ``instance_id`` (where reports run), and optionally
``provision_document``, ``restore_document``, ``teardown_document``, ``report_document``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.recon.contracts import (
    INVALID_RECONCILIATION,
    OPERATION_FAILED,
    OPERATION_PENDING,
    EnvironmentInfo,
    EnvironmentRef,
    ReportOutput,
    RestoreResult,
    RunReportInput,
)
from activities.recon.providers import environment_name, split_s3_uri

DOCUMENTS = {
    "provision": "Stepwise-ProvisionEnvironment",
    "restore": "Stepwise-RestoreSnapshot",
    "teardown": "Stepwise-TeardownEnvironment",
    "report": "Stepwise-RunReport",
}
"""Default SSM document per operation (override with ``<operation>_document`` options)."""

RUNNING = frozenset({"Pending", "InProgress", "Waiting", "Delayed", "Cancelling", "ChangeCalendarOverrideApproved"})
SUCCEEDED = frozenset({"Success"})


class OperationPending(ApplicationError):
    """A remote job is still running: retried by the poll policy, not a failure."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} still running", type=OPERATION_PENDING)


def _failed(what: str, status: str, detail: str) -> ApplicationError:
    return ApplicationError(f"{what} ended {status}: {detail}", type=OPERATION_FAILED, non_retryable=True)


class SsmProvider:
    """Environments driven by SSM documents on managed instances."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws

    def _document(self, env: EnvironmentRef, operation: str) -> str:
        return env.options.get(f"{operation}_document", DOCUMENTS[operation])

    async def _automation(self, env: EnvironmentRef, operation: str, parameters: dict[str, list[str]]) -> None:
        token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepwise:{env.run_id}:{env.version}:{operation}"))
        started = await self._aws.call(
            "ssm",
            "start_automation_execution",
            DocumentName=self._document(env, operation),
            Parameters=parameters,
            ClientToken=token,
        )
        execution_id = started["AutomationExecutionId"]
        found = await self._aws.call("ssm", "get_automation_execution", AutomationExecutionId=execution_id)
        execution = found["AutomationExecution"]
        status = str(execution.get("AutomationExecutionStatus", ""))
        what = f"{operation} automation {execution_id}"
        if status in RUNNING:
            raise OperationPending(what)
        if status not in SUCCEEDED:
            raise _failed(what, status, str(execution.get("FailureMessage", "")))

    async def provision(self, env: EnvironmentRef) -> EnvironmentInfo:
        """Run the provisioning automation to completion."""
        name = environment_name(env)
        await self._automation(env, "provision", {"EnvironmentId": [name], "Version": [env.version]})
        return EnvironmentInfo(environment_id=name)

    async def restore(self, env: EnvironmentRef, snapshot_uri: str) -> RestoreResult:
        """Run the restore automation to completion (it reports no statement counts)."""
        split_s3_uri(snapshot_uri)
        await self._automation(
            env, "restore", {"EnvironmentId": [environment_name(env)], "SnapshotUri": [snapshot_uri]}
        )
        return RestoreResult(statements=0, resumed_from=0)

    async def teardown(self, env: EnvironmentRef) -> None:
        """Run the teardown automation to completion."""
        await self._automation(env, "teardown", {"EnvironmentId": [environment_name(env)]})

    async def run_report(self, request: RunReportInput, sql: str, output_uri: str) -> ReportOutput:
        """Send the report command once (found again by its comment) and check it."""
        env = request.environment
        instance = env.options.get("instance_id", "")
        if not instance:
            raise ApplicationError(
                "provider_options.instance_id: required by aws-ssm", type=INVALID_RECONCILIATION, non_retryable=True
            )
        comment = report_comment(environment_name(env), request.report.name)
        command_id = await self._find_command(instance, self._document(env, "report"), comment)
        if command_id is None:
            bucket, key = split_s3_uri(output_uri)
            sent = await self._aws.call(
                "ssm",
                "send_command",
                InstanceIds=[instance],
                DocumentName=self._document(env, "report"),
                Comment=comment,
                Parameters={"EnvironmentId": [environment_name(env)], "Sql": [sql], "OutputUri": [output_uri]},
                OutputS3BucketName=bucket,
                OutputS3KeyPrefix=key.rsplit("/", 1)[0] + "/ssm",
            )
            command_id = str(sent["Command"]["CommandId"])
        invocation: dict[str, Any] = await self._aws.call(
            "ssm", "get_command_invocation", CommandId=command_id, InstanceId=instance
        )
        status = str(invocation.get("Status", ""))
        what = f"report {request.report.name} command {command_id}"
        if status in RUNNING:
            raise OperationPending(what)
        if status not in SUCCEEDED:
            raise _failed(what, status, str(invocation.get("StandardErrorContent", ""))[:500])
        return ReportOutput(report=request.report.name, uri=output_uri, rows=-1)

    async def _find_command(self, instance: str, document: str, comment: str) -> str | None:
        """The command this report sent before, looking through every page of the instance's list."""
        token: str | None = None
        while True:
            page = {"NextToken": token} if token else {}
            listed = await self._aws.call(
                "ssm",
                "list_commands",
                InstanceId=instance,
                Filters=[{"key": "DocumentName", "value": document}],
                **page,
            )
            for command in listed.get("Commands", []):
                if command.get("Comment") == comment:
                    return str(command["CommandId"])
            token = listed.get("NextToken")
            if not token:
                return None


def report_comment(environment: str, report: str) -> str:
    """The report command's ``Comment`` (SSM keeps 100 characters): unique per environment and report.

    It leads with a digest of both names, so two long report names that share their first
    characters are two commands, and goes on with the names for a person reading the list.
    """
    digest = hashlib.sha256(f"{environment}\n{report}".encode()).hexdigest()[:20]
    return f"stepwise {digest} {environment} {report}"[:100]
