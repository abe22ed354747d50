"""Decisions on waiting steps: validation, idempotency, audit, and waking the step.

One instance owns the parks of one execution. A decision is *claimed* the moment its
handler starts (so a concurrent repeat sees it) and audited; an operator's retry, skip,
approve or reject wakes the waiting step in the same workflow task that schedules its audit,
an abort or a timeout's default action only once its audit is written. The handler answers
once the row is written. A repeat, by decision id or by the same action on the same park, gets
the first decision's outcome back and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import (
        GATE_ACTIONS,
        INVALID_DECISION,
        STEP_ACTIONS,
        DecisionOutcome,
        ReviewForm,
        StepDecision,
    )
    from workflows.common.form_answers import form_problem, normalised
    from workflows.common.step_effects import StepEffects
    from workflows.common.step_records import OutputContract, Park, StepRecord


class Decisions:
    """Parks of one execution and the decisions made on them."""

    def __init__(self, records: dict[str, StepRecord], effects: StepEffects) -> None:
        self._records = records
        self._effects = effects
        self.parks: dict[str, Park] = {}
        """Steps waiting now, by name."""
        self.outcomes: dict[str, DecisionOutcome | None] = {}
        """Outcome per park key (None while its audit is being written)."""
        self._park_counts: dict[str, int] = {}
        self._ids: dict[str, str] = {}
        self._last: dict[str, tuple[str, StepDecision]] = {}

    def open(
        self,
        record: StepRecord,
        actions: tuple[str, ...],
        now: datetime,
        output: OutputContract,
        form: ReviewForm | None = None,
    ) -> Park:
        """Start waiting on ``record``'s step; a skip must satisfy ``output``, an approve answer ``form``."""
        self._park_counts[record.name] = self._park_counts.get(record.name, 0) + 1
        key = f"{record.name}#{self._park_counts[record.name]}"
        park = Park(step=record.name, key=key, actions=actions, since=now, output=output, form=form)
        self.parks[record.name] = park
        return park

    def close(self, park: Park) -> None:
        """Stop waiting (decided, or cancelled)."""
        del self.parks[park.step]

    def oldest(self) -> Park | None:
        """The park waiting longest."""
        return min(self.parks.values(), key=lambda park: park.since, default=None)

    def claim(self, park: Park) -> None:
        """Mark a park as decided before the decision's audit is written."""
        park.claimed = True
        self.outcomes[park.key] = None

    def validate(self, decision: StepDecision) -> None:
        """Update validator: raise (and leave no history event) unless the decision applies."""
        problem = self.problem(decision)
        if problem is not None:
            raise ApplicationError(problem, type=INVALID_DECISION, non_retryable=True)

    async def decide(self, decision: StepDecision, *, via: str = "update") -> DecisionOutcome:
        """Apply a validated decision (or return the outcome of the one it repeats)."""
        repeated = self.repeat_of(decision)
        if repeated is not None:
            await workflow.wait_condition(lambda: self.outcomes.get(repeated) is not None)
            first = self.outcomes[repeated]
            assert first is not None
            return replace(first, duplicate=True, message=f"already decided: {first.message}")
        park = self.parks[decision.step]
        self.claim(park)
        if decision.decision_id:
            self._ids[decision.decision_id] = park.key
        return await self.accept(park, decision, via)

    async def decide_by_signal(self, decision: StepDecision) -> None:
        """Signal handler: the same checks as the update; a rejection is audited, nothing changes."""
        problem = self.problem(decision)
        if problem is not None:
            workflow.logger.warning("decision signal rejected: %s", problem)
            await self._effects.audit(decision, "signal", "rejected", problem)
            return
        await self.decide(decision, via="signal")

    def problem(self, decision: StepDecision) -> str | None:
        """Why a decision cannot apply now, or None when it can (or repeats an applied one)."""
        if not decision.operator.strip():
            return "operator identity is required"
        if decision.step not in self._records:
            known = ", ".join(self._records) or "none yet"
            return f"unknown step {decision.step!r} (steps so far: {known})"
        if self.repeat_of(decision) is not None:
            return None
        park = self.parks.get(decision.step)
        if decision.action not in STEP_ACTIONS + GATE_ACTIONS:
            return f"unknown action {decision.action!r} (expected one of retry, skip, abort, approve, reject)"
        if park is None:
            return f"step {decision.step!r} is not waiting for a decision (it is {self._records[decision.step].status})"
        if decision.action not in park.actions:
            return (
                f"action {decision.action!r} does not apply to {decision.step!r} (expected {', '.join(park.actions)})"
            )
        if decision.action == "skip":
            return park.output.problem(decision.substitute_output)
        return self._form_problem(park, decision)

    @staticmethod
    def _form_problem(park: Park, decision: StepDecision) -> str | None:
        """A form gate's rules: an approve answers every field validly, a reject says why; answers
        belong to nothing else."""
        if park.form is None or decision.action != "approve":
            if decision.answers:
                where = "an approve at a gate with a form" if park.form is not None else "gates with a form"
                return f"answers apply only to {where} ({decision.step!r} takes none with {decision.action})"
            if park.form is not None and decision.action == "reject" and not decision.reason.strip():
                return f"a reject at {decision.step!r} needs a reason (the form's fields are refused with it)"
            return None
        return form_problem(park.form, decision.answers)

    def repeat_of(self, decision: StepDecision) -> str | None:
        """The park key an already-applied decision this one repeats answered, if any."""
        if decision.decision_id and decision.decision_id in self._ids:
            return self._ids[decision.decision_id]
        park = self.parks.get(decision.step)
        if park is not None:
            return park.key if park.claimed else None
        last = self._last.get(decision.step)
        if last is not None and not decision.decision_id and last[1].action == decision.action:
            return last[0]
        return None

    async def accept(self, park: Park, decision: StepDecision, via: str) -> DecisionOutcome:
        """Audit a claimed decision and wake the waiting step with it (a form's answers stripped);
        answer once the audit row is written.

        A retry, skip, approve or reject by an operator has its audit scheduled first, in the same
        workflow task as the woken step's next command, and written while that step runs: the
        decision costs the step no extra round trip. An abort (the workflow ends soon after) and
        a default action taken by a timeout (in the step's own coroutine, nobody waits on it) are
        audited before the step wakes, as every decision was in executions that decided before
        this, which replay that way.
        """
        if park.form is not None and decision.answers:
            decision = replace(decision, answers=normalised(park.form, decision.answers))
        audit_first = decision.action == "abort" or via == "timeout"
        audit = None if audit_first else self._effects.audit_beside_step(decision, via)
        if audit is None:
            try:
                await self._effects.audit(decision, via, "accepted", None)
            except GeneratorExit:  # a discarded coroutine: leave it be (workflows.common.cleanup)
                raise
            except BaseException:  # release the claim whatever stopped the audit, then re-raise
                park.claimed = False
                del self.outcomes[park.key]
                raise
        park.decision = decision
        self._last[park.step] = (park.key, decision)
        record = self._records[park.step]
        record.decided_by, record.decision = decision.operator, decision.action
        self._effects.count_decision(decision.action)
        outcome = DecisionOutcome(
            step=park.step,
            action=decision.action,
            duplicate=False,
            message=f"{decision.action} of {park.step} by {decision.operator} accepted",
        )
        try:
            if audit is not None:
                # The step is already awake; a repeat of this decision waits for the row like this one.
                await audit
        finally:
            # The decision took effect whatever stopped its audit: a repeat must not wait forever.
            self.outcomes[park.key] = outcome
        return outcome
