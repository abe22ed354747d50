"""Contracts shared by every pipeline: the AWS error taxonomy's names, ``call_aws``, and step control.

Plain data only (stdlib frozen dataclasses and error-type names), so that workflows can
import it without pulling in any I/O library (DESIGN §3).

Annotations here are evaluated (no ``from __future__ import annotations``): the sandbox
decodes ``StepDecision`` and friends for workflows whose step-control module is passed
through, and string annotations would have to be resolved in the sandbox's own module
table, where this module is not registered.
"""

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class ActivityRef(Generic[In, Out]):
    """An activity as a workflow calls it: its registered name, its input type and its output type.

    Workflows hold these rather than the activity classes (which import the I/O libraries),
    and step control runs them typed: ``steps.run("reserve_seats", RESERVE_SEATS, seats, ...)``
    returns a ``SeatsOutcome``. The activity itself is declared with
    ``@activity.defn(name=RESERVE_SEATS.name)``; a test checks every reference against the
    worker's catalog (name, input and output types).
    """

    name: str
    """The registered activity type name (recorded in histories: never renamed)."""
    input: type[In]
    """The one argument's type."""
    output: type[Out]
    """The result's type; ``type(None)`` for an activity that returns nothing."""


# --- The AWS error taxonomy's types (activities.common.aws maps botocore's errors to them) ---

AWS_VALIDATION_ERROR = "AwsValidationError"
"""A request AWS refused as invalid (and every refusal not named below); not retried."""
AWS_ACCESS_DENIED = "AwsAccessDenied"
"""Credentials or permissions; not retried."""
AWS_NOT_FOUND = "AwsNotFound"
"""No such bucket, key, table, queue, parameter...; not retried."""
AWS_CONFLICT = "AwsConflict"
"""A conflict or an "already exists"; not retried."""
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailed"
"""A DynamoDB condition did not hold; not retried."""
TRANSACTION_CANCELED = "TransactionCanceled"
"""A DynamoDB transaction cancelled by a condition (details carry the per-item reasons); not retried."""
AWS_THROTTLED = "AwsThrottled"
"""Throttling; retried."""
AWS_SERVICE_ERROR = "AwsServiceError"
"""A transient or modeled-retryable service error (5xx...); retried."""
AWS_CONNECTION_ERROR = "AwsConnectionError"
"""The endpoint could not be reached or timed out; retried."""
AWS_ERROR = "AwsError"
"""Anything else an AWS call raised; retried."""

AWS_ERRORS_NOT_RETRIED = (
    AWS_VALIDATION_ERROR,
    AWS_ACCESS_DENIED,
    AWS_NOT_FOUND,
    AWS_CONFLICT,
    CONDITIONAL_CHECK_FAILED,
    TRANSACTION_CANCELED,
)
"""The taxonomy's non-retryable types: every step policy that calls AWS lists them as not retried."""


# --- call_aws: any AWS SDK operation as one step --------------------------------------


@dataclass(frozen=True)
class AwsCallInput:
    """One AWS SDK call, the way a Step Functions SDK integration task names it."""

    service: str
    """boto3 service name, e.g. ``dynamodb``."""
    operation: str
    """Operation, ``PutItem`` or ``put_item``."""
    params: dict[str, Any] = field(default_factory=dict)
    """The operation's request parameters."""


@dataclass(frozen=True)
class AwsCallOutput:
    """The operation's response, without ``ResponseMetadata``, made JSON-safe."""

    result: dict[str, Any]


# --- Step control (DESIGN §6) ---------------------------------------------------------

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

AUDIENCES = ("operators", "signoff", "translators", "reviewers")
"""Who a notice goes to; each audience is one SNS topic of :class:`Resources`."""

STEP_ABORTED = "StepAborted"
"""Error type of a step (and the workflow) an operator aborted."""
INVALID_DECISION = "InvalidDecision"
"""Error type of a decision the update validator refuses."""
INVALID_NOTICE = "InvalidNotice"
"""Error type of a notice to an unknown audience."""
TIMEOUT_OPERATOR = "stepwise:timeout"
"""Operator name of decisions applied by an attention policy's default action."""


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
    answers: dict[str, str] = field(default_factory=dict)
    """``approve`` at a gate with a form: one value per form field, by field name (the
    extracted value to confirm it, another value to correct it)."""


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


FORM_FIELD_KINDS = ("text", "date", "amount", "currency", "codes")
"""How a form field's answer is checked: free text; an ISO date (YYYY-MM-DD); a non-negative
decimal amount with at most two decimals; an ISO 4217 currency code; a comma-separated list of
codes (HS codes: digits and dots)."""


@dataclass(frozen=True)
class FormField:
    """One field a reviewer answers at a gate with a form (the article's A2I human loop)."""

    name: str
    """The answer's key (``billing_company``)."""
    label: str
    """What the reviewer reads (``Billing company``)."""
    kind: str = "text"
    """One of :data:`FORM_FIELD_KINDS`: how the answer is validated."""
    value: str = ""
    """The extracted value, "" when nothing was found."""
    confidence: float | None = None
    """The extraction's confidence (0-1), None when nothing was found."""
    source: str = ""
    """Where the value was found (``entity ORGANIZATION #1``, ``form key "Invoice No"``)."""
    reason: str = ""
    """Why it is asked (``confidence 0.941 below 0.95``, ``not found``)."""


@dataclass(frozen=True)
class ReviewForm:
    """The typed form of a gate: an ``approve`` must answer every field, validly."""

    fields: list[FormField]
    """The fields to answer, in the order they are shown."""
    context: str = ""
    """One line shown above the form (the document under review)."""


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
    output_type: str = ""
    """While parked: ``module:Class`` of the output a skip substitutes (empty: none is taken)."""
    output_required: bool = False
    """While parked: a skip must carry a substitute output (the workflow needs one)."""
    subject: str = ""
    """While waiting: the subject of the notice it sent (a gate's question)."""
    body: str = ""
    """While waiting: the notice's body (what a gate asks the approver to look at)."""
    form: ReviewForm | None = None
    """While waiting at a gate with a form: the fields an approval must answer."""


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
    answers: dict[str, str] = field(default_factory=dict)
    """A form gate's answers, as accepted (audited with the decision)."""


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


# --- Shared activities ----------------------------------------------------------------

CALL_AWS = ActivityRef("call_aws", AwsCallInput, AwsCallOutput)
"""Any AWS SDK operation (the Step Functions SDK integration's equivalent)."""
RECORD_DECISION = ActivityRef("step_control_record_decision", DecisionAudit, type(None))
"""Write a decision's audit row."""
NOTIFY_ATTENTION = ActivityRef("step_control_notify", AttentionNotice, NoticeSent)
"""Tell operators (or reviewers) that a step waits for them."""
