"""What step control does outside the workflow: audit rows, operator notices, visibility, metrics.

One instance per execution; every effect goes through an activity or a replay-safe SDK
call (search attributes, metric meters), so the workflow stays deterministic.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.common import search_attributes
    from activities.common.contracts import (
        NOTIFY_ATTENTION,
        RECORD_DECISION,
        AttentionNotice,
        DecisionAudit,
        StepDecision,
    )
    from workflows.common.form_answers import audited
    from workflows.common.policies import STEP_CONTROL_AUDIT, STEP_CONTROL_AUDIT_LOCAL, STEP_CONTROL_NOTIFY
    from workflows.common.step_records import Park, StepRecord, step_label


LOCAL_AUDIT = "step-control-local-audit"
"""Patch: a decision's audit row is written by a local activity (it was a task-queue activity)."""

AUDIT_BESIDE_STEP = "step-control-audit-beside-step"
"""Patch: an accepted decision's audit row is scheduled in the workflow task that wakes the step,
and written while the step runs (it was written by a local activity before the step woke)."""


class StepEffects:
    """Audit, notices, visibility and metrics of one execution's step control."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self._marked: tuple[str, datetime] | None = None
        self._ever_marked = False
        self._details_shown = False

    def audit_beside_step(self, decision: StepDecision, via: str) -> Awaitable[None] | None:
        """Schedule an accepted decision's audit row, to be written while the step it wakes runs.

        The activity is scheduled before the woken step's own command, in the same workflow
        task, so history holds the audit first and both start at once; the update answers only
        when the row is written (the caller awaits the returned handle). Retried until Postgres
        answers, like every audit. None for executions that took a decision before this
        (they audit before waking, and replay that way): the caller then calls :meth:`audit`.
        """
        if not workflow.patched(AUDIT_BESIDE_STEP):
            return None
        return workflow.start_activity(
            RECORD_DECISION.name,
            self._audit_row(decision, via, "accepted", None),
            **STEP_CONTROL_AUDIT.activity_options(),
        )

    async def audit(self, decision: StepDecision, via: str, outcome: str, rejection: str | None) -> None:
        """Write the decision's audit row (retried until Postgres answers), then return.

        Its answers are kept stripped; a rejected signal's malformed answers (too many, too
        long, a refused character) are not kept at all: its rejection says what was wrong.

        A local activity, in the workflow task that took the decision. Executions that took
        decisions before that wrote the row with a task-queue activity, and replay it that way.
        """
        audit = self._audit_row(decision, via, outcome, rejection)
        if workflow.patched(LOCAL_AUDIT):
            await workflow.execute_local_activity(
                RECORD_DECISION.name, audit, **STEP_CONTROL_AUDIT_LOCAL.activity_options()
            )
        else:
            await workflow.execute_activity(RECORD_DECISION.name, audit, **STEP_CONTROL_AUDIT.activity_options())

    def _audit_row(self, decision: StepDecision, via: str, outcome: str, rejection: str | None) -> DecisionAudit:
        info = workflow.info()
        return DecisionAudit(
            audit_id=str(workflow.uuid4()),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            pipeline=self.pipeline,
            step=decision.step,
            action=decision.action,
            operator=decision.operator,
            reason=decision.reason,
            via=via,
            outcome=outcome,
            rejection=rejection,
            decided_at=workflow.now().isoformat(),
            answers=audited(decision.answers),
        )

    async def notify(self, key: str, audience: str, subject: str, body: str) -> None:
        """Publish a notice once per key; a notice that cannot be sent is logged, not fatal.

        The ledger key is ``attention:<workflow id>:<first run id>:<key>``. The first run id is
        the same in every run of a continue-as-new chain, and new for a workflow started again
        under the same id (a failed shipment started again, a media job redriven), whose parks,
        reminders and escalations are then notified afresh. The key is an activity input, not a
        command: histories recorded with the older key (no run id) replay unchanged.
        """

        info = workflow.info()
        ledger_key = f"attention:{info.workflow_id}:{info.first_execution_run_id}:{key}"
        try:
            await workflow.execute_activity(
                NOTIFY_ATTENTION.name,
                AttentionNotice(key=ledger_key, audience=audience, subject=subject, body=body),
                **STEP_CONTROL_NOTIFY.activity_options(),
            )
        except ActivityError as error:
            workflow.logger.warning("attention notice %s not sent: %s", key, error.cause or error)

    def parked_notice(self, record: StepRecord) -> tuple[str, str]:
        """Subject and body telling operators a step parked."""
        workflow_id = workflow.info().workflow_id
        subject = f"[stepwise] {self.pipeline}: {record.name} needs attention"
        body = (
            f"Execution {workflow_id} ({self.pipeline}): step {record.name} failed after "
            f"{record.attempts} attempt(s) with {record.last_error_type}: {record.last_error}\n"
            f"Decide with: stepwise decide {workflow_id} {record.name} retry|skip|abort "
            "--operator NAME --reason TEXT"
        )
        return subject, body

    def mark_attention(self, oldest: tuple[str, datetime] | None) -> None:
        """Upsert the attention search attributes when they change."""
        if oldest == self._marked or (oldest is None and not self._ever_marked):
            return
        self._marked = oldest
        if oldest is None:
            workflow.upsert_search_attributes(
                [
                    search_attributes.NEEDS_ATTENTION.value_set(False),
                    search_attributes.PARKED_STEP.value_unset(),
                    search_attributes.ATTENTION_SINCE.value_unset(),
                ]
            )
            return
        self._ever_marked = True
        workflow.upsert_search_attributes(
            [
                search_attributes.NEEDS_ATTENTION.value_set(True),
                search_attributes.PARKED_STEP.value_set(oldest[0]),
                search_attributes.ATTENTION_SINCE.value_set(oldest[1]),
            ]
        )

    def show_waiting(self, waiting: list[tuple[Park, StepRecord]]) -> None:
        """The execution's current details (the Temporal UI shows them): what waits, why, how to decide.

        Cleared when nothing waits. Current details live in the worker and answer a query;
        they add nothing to history, so setting them needs no patch.
        """
        if not waiting:
            if self._details_shown:
                workflow.set_current_details("")
                self._details_shown = False
            return
        workflow_id = workflow.info().workflow_id
        lines = []
        for park, record in waiting:
            what = "waits for a decision" if record.kind == "gate" else "is parked"
            error = f": {record.last_error_type}: {record.last_error}" if record.last_error_type else ""
            lines.append(
                f"**{park.step}** {what} since {park.since.isoformat(timespec='seconds')}{error}\n"
                f"Decide: `stepwise decide {workflow_id} {park.step} {'|'.join(park.actions)} "
                "--operator NAME --reason TEXT`"
            )
        workflow.set_current_details("\n\n".join(lines))
        self._details_shown = True

    def count_parked(self, step: str) -> None:
        """stepwise_steps_parked_total{pipeline,step}."""
        workflow.metric_meter().create_counter(
            "stepwise_steps_parked_total", "Steps that parked waiting for an operator"
        ).add(1, {"pipeline": self.pipeline, "step": step_label(step)})

    def count_decision(self, action: str) -> None:
        """stepwise_decisions_total{pipeline,action}."""
        workflow.metric_meter().create_counter("stepwise_decisions_total", "Operator decisions accepted").add(
            1, {"pipeline": self.pipeline, "action": action}
        )

    def observe_wait(self, step: str, seconds: float) -> None:
        """stepwise_step_parked_seconds{pipeline,step}: how long a step waited."""
        workflow.metric_meter().create_histogram_float(
            "stepwise_step_parked_seconds", "Time a step waited for a decision", "s"
        ).record(seconds, {"pipeline": self.pipeline, "step": step_label(step)})
