"""The doctor's contracts: one probe per dependency, and the report `stepwise doctor` prints."""

from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef

PIPELINE = "doctor"


@dataclass(frozen=True)
class ProbeInput:
    """Identifies one doctor run, so every probe's writes are idempotent."""

    probe_id: str


@dataclass(frozen=True)
class ProbeResult:
    """What a successful probe found."""

    dependency: str
    detail: str


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


# --- Activities: registered name, input, output ----------------------------------------

CHECK_POSTGRES = ActivityRef("doctor_postgres", ProbeInput, ProbeResult)
CHECK_S3 = ActivityRef("doctor_s3", ProbeInput, ProbeResult)
CHECK_DYNAMODB = ActivityRef("doctor_dynamodb", ProbeInput, ProbeResult)
CHECK_SQS = ActivityRef("doctor_sqs", ProbeInput, ProbeResult)
CHECK_SNS = ActivityRef("doctor_sns", ProbeInput, ProbeResult)
CHECK_TEMPORAL_VISIBILITY = ActivityRef("doctor_temporal_visibility", ProbeInput, ProbeResult)

ACTIVITIES = (CHECK_POSTGRES, CHECK_S3, CHECK_DYNAMODB, CHECK_SQS, CHECK_SNS, CHECK_TEMPORAL_VISIBILITY)
"""Every probe, in the order the report lists them (the worker's catalog registers exactly these)."""
