"""Name-matched stand-ins for the doctor's probes, for workflow-logic tests on the time-skipping server.

Each probe answers with the detail its real activity reports on a healthy dev stack, unless
``failures`` names its dependency: then it raises that error, as the real probe raises the
first error its dependency gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.common.resources import Resources
from activities.doctor.contracts import (
    ACTIVITIES,
    CHECK_DYNAMODB,
    CHECK_POSTGRES,
    CHECK_S3,
    CHECK_SNS,
    CHECK_SQS,
    CHECK_TEMPORAL_VISIBILITY,
    ProbeInput,
    ProbeResult,
)
from tests.support.mocks import covering, mock_activity

_DEV = Resources()
HEALTHY = {
    "postgres": "read/write ok, schema revision 0011",
    "s3": f"{len(_DEV.buckets)} buckets, object round-trip ok",
    "dynamodb": f"{len(_DEV.tables)} tables ACTIVE, write ok",
    "sqs": "depths " + ", ".join(f"{queue.name}=0" for queue in _DEV.queues),
    "sns": f"{len(_DEV.topics)} topics",
    "temporal-visibility": "search attributes ok, 3 doctor runs visible",
}
"""What each probe reports when its dependency answers: the real probes' wording, on the dev
stack's resources with empty queues."""


@dataclass
class MockDoctor:
    """Every probe; ``failures`` maps a dependency to the error its probe raises."""

    failures: dict[str, ApplicationError] = field(default_factory=dict)
    probed: list[str] = field(default_factory=list)
    """Dependencies probed, in the order the probes ran."""

    def _answer(self, dependency: str) -> ProbeResult:
        self.probed.append(dependency)
        if dependency in self.failures:
            raise self.failures[dependency]
        return ProbeResult(dependency, HEALTHY[dependency])

    def activities(self) -> list[Callable[..., Any]]:
        """The activity functions to register (exactly the doctor's probes)."""

        @mock_activity(CHECK_POSTGRES)
        async def check_postgres(probe: ProbeInput) -> ProbeResult:
            return self._answer("postgres")

        @mock_activity(CHECK_S3)
        async def check_s3(probe: ProbeInput) -> ProbeResult:
            return self._answer("s3")

        @mock_activity(CHECK_DYNAMODB)
        async def check_dynamodb(probe: ProbeInput) -> ProbeResult:
            return self._answer("dynamodb")

        @mock_activity(CHECK_SQS)
        async def check_sqs(probe: ProbeInput) -> ProbeResult:
            return self._answer("sqs")

        @mock_activity(CHECK_SNS)
        async def check_sns(probe: ProbeInput) -> ProbeResult:
            return self._answer("sns")

        @mock_activity(CHECK_TEMPORAL_VISIBILITY)
        async def check_temporal_visibility(probe: ProbeInput) -> ProbeResult:
            return self._answer("temporal-visibility")

        return covering(
            ACTIVITIES,
            [check_postgres, check_s3, check_dynamodb, check_sqs, check_sns, check_temporal_visibility],
        )
