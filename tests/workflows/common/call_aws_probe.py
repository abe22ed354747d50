"""A one-step workflow that runs `call_aws` under the product's AWS_CALL policy (tests only)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import CALL_AWS, AwsCallInput, AwsCallOutput
    from workflows.common.policies import AWS_CALL
    from workflows.common.step_control import StepControl, StepControlHandlers


@workflow.defn
class CallAwsProbe(StepControlHandlers):
    """Calls one AWS operation, the way a pipeline step would."""

    def __init__(self) -> None:
        self.steps = StepControl("probe")

    @workflow.run
    async def run(self, request: AwsCallInput) -> AwsCallOutput:
        return await self.steps.run("call_aws", CALL_AWS, request, policy=AWS_CALL)
