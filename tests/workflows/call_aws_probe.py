"""A one-step workflow that runs `call_aws` under the product's AWS_CALL policy (tests only)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.aws import AwsActivities, AwsCallInput, AwsCallOutput

from workflows.policies import AWS_CALL


@workflow.defn
class CallAwsProbe:
    """Calls one AWS operation, the way a pipeline step would."""

    @workflow.run
    async def run(self, request: AwsCallInput) -> AwsCallOutput:
        return await workflow.execute_activity_method(AwsActivities.call_aws, request, **AWS_CALL.activity_options())
