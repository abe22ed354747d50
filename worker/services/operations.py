"""Operator services shared by `stepwise attention|decide` and the API's /attention and decisions.

The attention list comes from Temporal visibility (``StepwiseNeedsAttention``), so it
spans every pipeline; each entry is completed with the parked step's error from the
execution's status query when a worker answers in time.
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.b2b.contracts import PIPELINE as B2B
from activities.booking.contracts import PIPELINE as BOOKING
from activities.common import search_attributes
from activities.common.contracts import (
    ACTIONS,
    DECIDE_UPDATE,
    STEPS_QUERY,
    DecisionOutcome,
    StepControlStatus,
    StepDecision,
)
from activities.documents.contracts import PIPELINE as DOCUMENTS
from activities.media.contracts import PIPELINE as MEDIA
from activities.poller.contracts import PIPELINE as POLLER
from activities.recon.contracts import PIPELINE as RECON
from activities.translation.contracts import PIPELINE as TRANSLATION

PIPELINES = (BOOKING, MEDIA, RECON, B2B, POLLER, TRANSLATION, DOCUMENTS)
"""Every pipeline whose steps and gates wait for operators, each named by its own contracts module
(the doctor's checks never wait for anyone): the API's and the console's filters, the attention gauges."""

ATTENTION_QUERY = "StepwiseNeedsAttention = true AND ExecutionStatus = 'Running'"
"""Visibility query of executions waiting for a human."""


class DecisionRejected(Exception):
    """The workflow's validator refused the decision; the message says why."""


class ExecutionNotFound(Exception):
    """No running execution has that workflow id."""


@dataclass(frozen=True)
class AttentionItem:
    """One execution waiting for a human."""

    workflow_id: str
    """Execution to decide on."""
    run_id: str
    """Its current run."""
    workflow_type: str
    """Workflow class name."""
    pipeline: str
    """StepwisePipeline search attribute."""
    business_key: str
    """StepwiseBusinessKey search attribute."""
    step: str
    """The step waiting longest."""
    waiting_since: datetime.datetime | None
    """When it started waiting."""
    waiting_seconds: float
    """How long it has waited so far."""
    error_type: str = ""
    """The step's last error type (empty for a gate, or when no worker answered)."""
    error: str = ""
    """The step's last error message."""
    allowed_actions: tuple[str, ...] = ()
    """What the operator may do."""
    waiting_steps: tuple[str, ...] = ()
    """Every step of the execution waiting now."""
    attempts: int = 0
    """Activity attempts of the waiting step so far (0 when no worker answered)."""


async def list_attention(client: Client, *, query_timeout: float = 3.0, limit: int = 1000) -> list[AttentionItem]:
    """Executions waiting for a human across all pipelines, oldest first.

    With ``query_timeout`` > 0 each entry also carries its step's last error, read from
    the execution's status query (skipped when no worker answers in time).
    """
    now = datetime.datetime.now(datetime.UTC)
    items: list[AttentionItem] = []
    async for execution in client.list_workflows(ATTENTION_QUERY, limit=limit):
        attributes = execution.typed_search_attributes
        since = attributes.get(search_attributes.ATTENTION_SINCE)
        items.append(
            AttentionItem(
                workflow_id=execution.id,
                run_id=execution.run_id,
                workflow_type=execution.workflow_type,
                pipeline=attributes.get(search_attributes.PIPELINE) or "",
                business_key=attributes.get(search_attributes.BUSINESS_KEY) or "",
                step=attributes.get(search_attributes.PARKED_STEP) or "",
                waiting_since=since,
                waiting_seconds=(now - since).total_seconds() if since else 0.0,
            )
        )
    items.sort(key=lambda item: (item.waiting_since or now, item.workflow_id))
    if query_timeout <= 0:
        return items
    return list(await asyncio.gather(*(_with_error(client, item, query_timeout) for item in items)))


async def _with_error(client: Client, item: AttentionItem, timeout: float) -> AttentionItem:
    try:
        status: StepControlStatus = await asyncio.wait_for(
            client.get_workflow_handle(item.workflow_id, run_id=item.run_id).query(
                STEPS_QUERY, result_type=StepControlStatus
            ),
            timeout,
        )
    except Exception:  # no worker answered in time: list the execution without its error
        return item
    state = next((s for s in status.steps if s.name == item.step), None)
    if state is None:
        return item
    return AttentionItem(
        **{
            **item.__dict__,
            "error_type": state.last_error_type,
            "error": state.last_error,
            "allowed_actions": tuple(state.allowed_actions),
            "waiting_steps": tuple(status.waiting),
            "attempts": state.attempts,
        }
    )


def check_decision(decision: StepDecision) -> None:
    """Edge validation shared by the CLI and the API (the workflow checks the rest)."""
    if decision.action not in ACTIONS:
        raise DecisionRejected(f"action: must be one of {', '.join(ACTIONS)} (got {decision.action!r})")
    if not decision.operator.strip():
        raise DecisionRejected("operator: required")
    if not decision.step.strip():
        raise DecisionRejected("step: required")


async def send_decision(client: Client, workflow_id: str, decision: StepDecision) -> DecisionOutcome:
    """Deliver a decision as an update; raise :class:`DecisionRejected` or :class:`ExecutionNotFound`."""
    check_decision(decision)
    handle = client.get_workflow_handle(workflow_id)
    try:
        outcome: DecisionOutcome = await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise DecisionRejected(message) from None
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise ExecutionNotFound(f"no running execution {workflow_id!r}") from None
        if error.status == RPCStatusCode.INVALID_ARGUMENT and "update" in error.message.lower():
            raise DecisionRejected(f"{workflow_id} does not accept decisions: {error.message}") from None
        raise
    return outcome


@dataclass(frozen=True)
class AttentionFilter:
    """Which waiting executions a bulk decision or the inbox covers; empty fields match all."""

    pipeline: str = ""
    step: str = ""
    """The parked step or gate; ``compare:*`` matches every ``compare:`` step."""
    error_type: str = ""
    min_age_seconds: float = 0.0
    """Only executions waiting at least this long."""

    def matches(self, item: AttentionItem) -> bool:
        """Whether ``item`` passes every field that is set."""
        if self.pipeline and item.pipeline != self.pipeline:
            return False
        if self.step and not _step_matches(self.step, item.step):
            return False
        if self.error_type and item.error_type != self.error_type:
            return False
        return item.waiting_seconds >= self.min_age_seconds

    @property
    def is_empty(self) -> bool:
        """No field set: every waiting execution matches."""
        return not (self.pipeline or self.step or self.error_type or self.min_age_seconds)


def _step_matches(pattern: str, step: str) -> bool:
    return step.startswith(pattern[:-1]) if pattern.endswith("*") else step == pattern


async def find_attention(client: Client, selection: AttentionFilter) -> list[AttentionItem]:
    """Waiting executions that pass ``selection``, oldest first (each with its step's error)."""
    return [item for item in await list_attention(client) if selection.matches(item)]


@dataclass(frozen=True)
class BulkOutcome:
    """What one execution of a bulk decision answered."""

    workflow_id: str
    step: str
    accepted: bool
    message: str


BULK_IN_FLIGHT = 16
"""Decisions one bulk request has in flight at once. Each goes to its own execution, and an
update answers only once its audit row is written (tens of ms), so one at a time would keep the
operator waiting for the sum of them."""


async def decide_many(
    client: Client,
    items: list[AttentionItem],
    *,
    action: str,
    operator: str,
    reason: str,
    batch_id: str,
    substitute_output: Any = None,
) -> list[BulkOutcome]:
    """Send one decision to each item's waiting step, one update (and one audit row) each.

    ``batch_id`` makes each execution's decision id, so a repeated bulk request is applied
    once per execution. A refusal (the step is no longer waiting, the action does not
    apply) is reported for that execution and does not stop the others. Up to
    :data:`BULK_IN_FLIGHT` are sent at once; outcomes come back in the items' order. Any other
    error stops the request: decisions not yet answered are cancelled (a decision may still
    have been applied; sending the same ``batch_id`` again applies none twice).
    """
    slots = asyncio.Semaphore(BULK_IN_FLIGHT)

    async def decide(item: AttentionItem) -> BulkOutcome:
        decision = StepDecision(
            step=item.step,
            action=action,
            operator=operator,
            reason=reason,
            decision_id=f"{batch_id}:{item.workflow_id}",
            substitute_output=substitute_output,
        )
        async with slots:
            try:
                outcome = await send_decision(client, item.workflow_id, decision)
            except (DecisionRejected, ExecutionNotFound) as error:
                return BulkOutcome(item.workflow_id, item.step, False, str(error))
        return BulkOutcome(item.workflow_id, item.step, True, outcome.message)

    tasks = [asyncio.create_task(decide(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        # After an error (or the request's own cancellation) nothing more is sent; cancelling
        # a task that already finished does nothing.
        for task in tasks:
            task.cancel()


def waited(seconds: float) -> str:
    """How long something has waited, as ``2d03h``, ``3h05m`` or ``4m12s``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
