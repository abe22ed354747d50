"""DoctorWorkflow: touch every dependency once and report each one's health.

Probes run in parallel with a single attempt each, so a broken dependency is reported
with the first error it gives rather than hidden behind retries.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.doctor.contracts import (
        CHECK_DYNAMODB,
        CHECK_POSTGRES,
        CHECK_S3,
        CHECK_SNS,
        CHECK_SQS,
        CHECK_TEMPORAL_VISIBILITY,
        PIPELINE,
        DependencyStatus,
        DoctorReport,
        ProbeInput,
    )
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers
    from workflows.doctor.policies import CHECK

PROBES = {
    "postgres": CHECK_POSTGRES,
    "s3": CHECK_S3,
    "dynamodb": CHECK_DYNAMODB,
    "sqs": CHECK_SQS,
    "sns": CHECK_SNS,
    "temporal-visibility": CHECK_TEMPORAL_VISIBILITY,
}


@workflow.defn
class DoctorWorkflow(StepControlHandlers):
    """Runs every probe and never fails itself: a failed probe is a line in the report."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)

    @workflow.run
    async def run(self, probe: ProbeInput) -> DoctorReport:
        results = await asyncio.gather(*(self._probe(name, probe) for name in PROBES))
        return DoctorReport(checks=list(results))

    async def _probe(self, name: str, probe: ProbeInput) -> DependencyStatus:
        try:
            result = await self.steps.run(name, PROBES[name], probe, policy=CHECK, progress=False)
        except STEP_ERRORS as error:
            return DependencyStatus(name, ok=False, detail=describe_failure(error).message)
        return DependencyStatus(name, ok=True, detail=result.detail)
