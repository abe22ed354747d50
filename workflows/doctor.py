"""DoctorWorkflow: touch every dependency once and report each one's health.

Probes run in parallel with a single attempt each, so a broken dependency is reported
with the first error it gives rather than hidden behind retries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.doctor import DoctorActivities, ProbeInput, ProbeResult
    from workflows.policies import DOCTOR_CHECK


@dataclass(frozen=True)
class DependencyStatus:
    """One line of the doctor's report."""

    dependency: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class DoctorReport:
    """The doctor's findings, one entry per dependency."""

    checks: list[DependencyStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when every dependency answered."""
        return all(check.ok for check in self.checks)


PROBES = {
    "postgres": DoctorActivities.check_postgres,
    "s3": DoctorActivities.check_s3,
    "dynamodb": DoctorActivities.check_dynamodb,
    "sqs": DoctorActivities.check_sqs,
    "sns": DoctorActivities.check_sns,
    "temporal-visibility": DoctorActivities.check_temporal_visibility,
}


@workflow.defn
class DoctorWorkflow:
    """Runs every probe and never fails itself: a failed probe is a line in the report."""

    @workflow.run
    async def run(self, probe: ProbeInput) -> DoctorReport:
        results = await asyncio.gather(*(self._probe(name, probe) for name in PROBES))
        return DoctorReport(checks=list(results))

    async def _probe(self, name: str, probe: ProbeInput) -> DependencyStatus:
        try:
            result: ProbeResult = await workflow.execute_activity_method(
                PROBES[name], probe, **DOCTOR_CHECK.activity_options()
            )
        except ActivityError as error:
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
            return DependencyStatus(name, ok=False, detail=message)
        return DependencyStatus(name, ok=True, detail=result.detail)
