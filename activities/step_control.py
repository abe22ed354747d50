"""Step control's contracts and side effects: decision audit and attention notices (DESIGN §6).

The dataclasses here are shared by the workflow component (``workflows.step_control``),
the CLI and the API; the activities write the audit row of every decision and publish
the notices that tell operators a step is waiting for them.

Annotations here are evaluated (no ``from __future__ import annotations``): the sandbox
decodes ``StepDecision`` and friends for workflows whose step-control module is passed
through, and string annotations would have to be resolved in the sandbox's own module
table, where this module is not registered.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.aws import AwsClients
from activities.db import SessionMaker
from activities.models.step_control import StepDecisionRecord
from activities.notify import Notifier
from activities.resources import Resources

DECIDE_UPDATE = "stepwise.decide"
"""Name of the update every step-controlled workflow accepts decisions by."""
DECISION_SIGNAL = "stepwise.decision"
"""Name of the signal carrying the same decision (Temporal CLI/UI friendly)."""
STEPS_QUERY = "stepwise.steps"
"""Name of the query returning every step's status."""

STEP_ACTIONS = ("retry", "skip", "abort")
"""What an operator may do with a parked step."""
GATE_ACTIONS = ("approve", "reject")
"""What an operator may do at a gate."""
ACTIONS = STEP_ACTIONS + GATE_ACTIONS

AUDIENCES = ("operators", "signoff")
"""Who a notice goes to; each audience is one SNS topic of :class:`Resources`."""


@dataclass(frozen=True)
class StepDecision:
    """An operator's decision on a parked step or a gate (update and signal input)."""

    step: str
    """The step's name as the status query reports it (``provision``, ``compare:loans``...)."""
    action: str
    """``retry``, ``skip`` or ``abort`` for a parked step; ``approve`` or ``reject`` at a gate."""
    operator: str = ""
    """Who decides; required."""
    reason: str = ""
    """Why, kept in the audit and, for ``abort``, in the workflow's failure."""
    decision_id: str = ""
    """Optional idempotency key: a decision repeated with the same id is applied once."""
    substitute_output: Any = None
    """``skip`` only: the output the skipped step should be taken to have produced."""


@dataclass(frozen=True)
class DecisionOutcome:
    """What happened to a decision (update result)."""

    step: str
    """The step decided on."""
    action: str
    """The action in force for that step (the first one's on a duplicate)."""
    duplicate: bool
    """True when this repeated an already-applied decision and changed nothing."""
    message: str
    """One readable line."""


@dataclass(frozen=True)
class AttentionPolicy:
    """What happens while nobody answers: remind -> escalate -> default action.

    Each delay counts from the moment the step started waiting; ``None`` skips that stage.
    """

    remind_after_seconds: float | None = None
    """Re-send the notice to the step's audience after this long."""
    escalate_after_seconds: float | None = None
    """Notify the operators' topic that the wait is escalated after this long."""
    default_after_seconds: float | None = None
    """Apply ``default_action`` (audited as operator ``stepwise:timeout``) after this long."""
    default_action: str | None = None
    """The action applied at ``default_after_seconds``."""


@dataclass(frozen=True)
class StepState:
    """One step as the status query reports it."""

    name: str
    """Step name."""
    kind: str
    """``activity``, ``child``, ``call`` or ``gate``."""
    status: str
    """running, succeeded, failed, parked, skipped, aborted, waiting, approved, rejected."""
    runs: int
    """How many times step control started it (1 + operator retries)."""
    attempts: int
    """Activity attempts over all runs, as far as the retry outcome tells (at least ``runs``)."""
    last_error_type: str = ""
    """Type of the last error (ApplicationError type or exception class)."""
    last_error: str = ""
    """Message of the last error."""
    started_at: str = ""
    """ISO time the first run started."""
    finished_at: str = ""
    """ISO time it last finished (succeeded, skipped, decided)."""
    waiting_since: str = ""
    """ISO time it started waiting for a decision, while it is."""
    allowed_actions: list[str] = field(default_factory=list)
    """Actions an operator may take now (empty unless waiting)."""
    decided_by: str = ""
    """Operator of the last accepted decision."""
    decision: str = ""
    """Action of the last accepted decision."""
    substituted: bool = False
    """True when skipped with a substitute output."""


@dataclass(frozen=True)
class StepControlStatus:
    """Every step of one execution (query result)."""

    pipeline: str
    """The pipeline the execution belongs to."""
    steps: list[StepState]
    """Steps in the order they first started."""
    waiting: list[str]
    """Names of the steps waiting for a decision now, oldest first."""


@dataclass(frozen=True)
class DecisionAudit:
    """One audit row (activity input)."""

    audit_id: str
    """Deterministic id from the workflow: a retried write is a no-op."""
    workflow_id: str
    run_id: str
    pipeline: str
    step: str
    action: str
    operator: str
    reason: str
    via: str
    """``update``, ``signal`` or ``timeout``."""
    outcome: str
    """``accepted`` or ``rejected``."""
    rejection: str | None
    """Why a rejected decision was rejected."""
    decided_at: str
    """ISO time (workflow time) the decision arrived."""


@dataclass(frozen=True)
class AttentionNotice:
    """A notice that a step waits, or still waits, for a human (activity input)."""

    key: str
    """Ledger key: one message per key, ever."""
    audience: str
    """``operators`` or ``signoff``."""
    subject: str
    """SNS subject (at most 100 characters are sent)."""
    body: str
    """Message text."""


@dataclass(frozen=True)
class NoticeSent:
    """The notice's SNS message."""

    message_id: str
    duplicate: bool


class StepControlActivities:
    """Audit and notification side effects of step control."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources) -> None:
        self._sessions = sessions
        self._notifier = Notifier(aws, sessions)
        self._topics = {"operators": resources.operator_attention_topic, "signoff": resources.signoff_topic}

    @activity.defn(name="step_control_record_decision")
    async def record_decision(self, audit: DecisionAudit) -> None:
        """Write the audit row once (keyed by ``audit_id``)."""
        values = {
            "audit_id": audit.audit_id,
            "workflow_id": audit.workflow_id,
            "run_id": audit.run_id,
            "pipeline": audit.pipeline,
            "step": audit.step[:200],
            "action": audit.action[:50],
            "operator": audit.operator[:200],
            "reason": audit.reason,
            "via": audit.via,
            "outcome": audit.outcome,
            "rejection": audit.rejection,
            "decided_at": datetime.datetime.fromisoformat(audit.decided_at),
        }
        async with self._sessions.begin() as session:
            await session.execute(insert(StepDecisionRecord).values(**values).on_conflict_do_nothing())

    @activity.defn(name="step_control_notify")
    async def notify(self, notice: AttentionNotice) -> NoticeSent:
        """Publish the notice to its audience's topic, once per key."""
        topic = self._topics.get(notice.audience)
        if topic is None:
            raise ApplicationError(
                f"unknown audience {notice.audience!r} (expected one of {', '.join(AUDIENCES)})",
                type="InvalidNotice",
                non_retryable=True,
            )
        published = await self._notifier.publish_once(notice.key, topic, notice.subject, notice.body)
        return NoticeSent(message_id=published.message_id, duplicate=not published.sent_now)
