"""PollerRetentionWorkflow: purge old tasks (the article's DynamoDB TTL), run by a schedule."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import workflows.poller.policies as policies
    from activities.poller.contracts import PIPELINE, PURGE_TASKS, RetentionRequest, RetentionResult
    from workflows.common.cleanup import at_exit
    from workflows.common.step_control import StepControl, StepControlHandlers


@workflow.defn
class PollerRetentionWorkflow(StepControlHandlers):
    """Delete tasks of finished jobs older than the retention age, with any payload they hold."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)

    @workflow.run
    async def run(self, request: RetentionRequest) -> RetentionResult:
        async with at_exit(self.steps.settle):
            return await self.steps.run("purge", PURGE_TASKS, request, policy=policies.PURGE)
