"""What step control knows about each step: its record, its park, and what a failure was.

The records are plain state that the status query reports; :mod:`workflows.common.step_effects`
turns them into audits, notices, visibility and metrics, and :mod:`workflows.common.step_control`
runs the run/park/decide loop over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import ReviewForm, StepDecision, StepState


@dataclass(frozen=True)
class OutputContract:
    """What a parked step's skip must hand the workflow in place of the step's output."""

    result_type: type | None = None
    """The step's output type; a substitute output is converted to it."""
    required: bool = False
    """The workflow needs the output: a skip without a substitute is refused."""

    @property
    def type_name(self) -> str:
        """``module:Class`` of the output type (empty when a skip takes no substitute)."""
        if self.result_type is None:
            return ""
        return f"{self.result_type.__module__}:{self.result_type.__qualname__}"

    def convert(self, value: Any) -> Any:
        """The substitute as the step's output type (raises if it does not fit)."""
        if value is None or self.result_type is None:
            return value
        converter = workflow.payload_converter()
        return converter.from_payloads(converter.to_payloads([value]), [self.result_type])[0]

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot stand in for the step's output, or None."""
        if value is None:
            return (
                "this step's output is needed by the next steps: skip it with a substitute_output"
                if self.required
                else None
            )
        try:
            self.convert(value)
        except Exception as error:  # the converter's errors are not typed; any one refuses the value
            name = self.result_type.__name__ if self.result_type else "the output"
            return f"substitute_output does not fit {name}: {error}"
        return None


@dataclass
class Park:
    """A step waiting for a decision."""

    step: str
    key: str
    """``<step>#<n>``: the n-th time this step waits; decisions are idempotent per key."""
    actions: tuple[str, ...]
    since: datetime
    output: OutputContract = field(default_factory=OutputContract)
    """What a skip must substitute."""
    claimed: bool = False
    """A decision was accepted (its audit may still be being written)."""
    decision: StepDecision | None = None
    """The decision, once audited: the waiting step wakes on it."""
    subject: str = ""
    """The subject of the notice the wait sent."""
    body: str = ""
    """The notice's body."""
    form: ReviewForm | None = None
    """A gate's typed form: an approve must answer every field (None: a plain gate or a parked step)."""


@dataclass
class StepRecord:
    """What step control knows about one step."""

    name: str
    kind: str
    status: str = "running"
    runs: int = 0
    attempts: int = 0
    last_error_type: str = ""
    last_error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    substituted: bool = False
    decided_by: str = ""
    decision: str = ""

    def begin(self, now: datetime) -> None:
        """A run starts."""
        self.runs += 1
        self.status = "running"
        if self.started_at is None:
            self.started_at = now

    def fail(self, error_type: str, message: str, attempts: int) -> None:
        """A run failed after ``attempts`` activity attempts."""
        self.status = "failed"
        self.attempts += max(attempts, 1)
        self.last_error_type = error_type
        self.last_error = message

    def finish(self, status: str, now: datetime, *, substituted: bool = False) -> None:
        """The step ended (succeeded, skipped, aborted, approved, rejected)."""
        self.status = status
        self.finished_at = now
        self.substituted = substituted
        if status == "succeeded":
            self.attempts = max(self.attempts + 1, self.runs)

    def state(self, park: Park | None) -> StepState:
        """The query's view of this step."""
        return StepState(
            name=self.name,
            kind=self.kind,
            status=self.status,
            runs=self.runs,
            attempts=self.attempts,
            last_error_type=self.last_error_type,
            last_error=self.last_error,
            started_at=_iso(self.started_at),
            finished_at=_iso(self.finished_at),
            waiting_since=_iso(park.since if park else None),
            allowed_actions=list(park.actions) if park and not park.claimed else [],
            decided_by=self.decided_by,
            decision=self.decision,
            substituted=self.substituted,
            output_type=park.output.type_name if park else "",
            output_required=park.output.required if park else False,
            subject=park.subject if park else "",
            body=park.body if park else "",
            form=park.form if park else None,
        )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def step_label(name: str) -> str:
    """Metric label of a step: the part before ``:`` (report names stay out of labels)."""
    return name.split(":", 1)[0]
