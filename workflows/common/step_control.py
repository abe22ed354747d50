"""Step control: the one way any workflow runs a step (DESIGN §6).

A workflow holds one :class:`StepControl` and inherits :class:`StepControlHandlers`, which
registers the decision update (with its validator), the decision signal and the status
query once for every workflow class::

    @workflow.defn
    class MyWorkflow(StepControlHandlers):
        def __init__(self) -> None:
            self.steps = StepControl("my-pipeline")

        @workflow.run
        async def run(self, request: MyInput) -> MyOutput:
            env = await self.steps.run("provision", PROVISION, request, policy=policies.PROVISION)
            ...
            await self.steps.settle()

``run`` takes an :class:`~activities.common.contracts.ActivityRef` (the activity's name,
input and output types from the pipeline's contracts) and returns the output, typed.
``run_child`` (child workflows) and ``run_call`` (any coroutine) share its loop: when a step
fails after its retries and its policy says ``on_exhausted="park"``, the failure is
recorded, the execution is marked in visibility (``StepwiseNeedsAttention``), the operators
are notified once, and the step waits. ``retry`` runs that step again (nothing before it),
``skip`` continues with a substitute output (or none, where the workflow can do without),
``abort`` raises a ``StepAborted`` error that the workflow's own compensation sees before it
fails. :meth:`StepControl.gate` waits for ``approve``/``reject`` the same way.

It also owns what every pipeline needs at a step boundary: the case's progress (the step
running now and the steps done), a customer's cancellation (taking effect before the next
step, never interrupting one), and the saga: a step's ``undo`` is registered before the
step runs, and :meth:`StepControl.compensate` runs the registered undos newest first.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from temporalio import workflow
from temporalio.exceptions import ApplicationError, CancelledError, FailureError, RetryState, TerminatedError

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import (
        DECIDE_UPDATE,
        DECISION_SIGNAL,
        GATE_ACTIONS,
        STEP_ABORTED,
        STEP_ACTIONS,
        STEPS_QUERY,
        TIMEOUT_OPERATOR,
        ActivityRef,
        AttentionPolicy,
        DecisionOutcome,
        ReviewForm,
        StepControlStatus,
        StepDecision,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import describe_failure, find_abort, is_non_retryable
    from workflows.common.saga import CompensationOutcome, Saga
    from workflows.common.step_decisions import Decisions
    from workflows.common.step_effects import StepEffects
    from workflows.common.step_policy import OnFailure, StepPolicy
    from workflows.common.step_records import OutputContract, Park, StepRecord


T = TypeVar("T")
In = TypeVar("In")
Out = TypeVar("Out")

NONE_TYPE = type(None)

LONGEST_TIMER_SECONDS = 2.0**63
"""A timer's duration is a protobuf Duration, whose seconds are an int64: no longer delay can be set."""


def _timer_can_hold(seconds: float) -> bool:
    """Whether an attention stage after ``seconds`` can be waited for with a workflow timer.

    The API refuses delays past a year, but a direct Temporal start can still carry ``inf``,
    ``nan`` or ``1e300``; building that timer raises and would fail every workflow task of the
    run. Such a stage never fires instead. Skipping it changes no command a history can hold:
    the timer's command was never sent, since building it raised. ``-inf`` is kept: it always
    became the shortest timer (the stage fires at once), and histories hold that timer.
    """
    return not math.isnan(seconds) and seconds < LONGEST_TIMER_SECONDS


@dataclass(frozen=True)
class GateAnswer:
    """How a gate was answered."""

    approved: bool
    """True when approved."""
    operator: str
    """Who answered (``stepwise:timeout`` for a default action)."""
    reason: str
    """Why."""
    answers: dict[str, str] = field(default_factory=dict)
    """A form gate's approval: one validated, stripped answer per field (empty otherwise)."""


@dataclass(frozen=True)
class Undo(Generic[In]):
    """How to undo a step: registered before the step runs, run by :meth:`StepControl.compensate`.

    Every undo must tolerate "nothing to undo": it is registered before its step because the
    step can succeed at the remote end and still fail here (a timeout after a charge).
    """

    name: str
    """The compensation's step name (``refund_payment``)."""
    activity: ActivityRef[In, Any]
    """The activity that undoes it."""
    input: Callable[[], In]
    """Builds the activity's input when the compensation runs (it may need the failure)."""
    policy: StepPolicy
    """Its policy: compensations usually park when their retries run out, so none is lost."""


class CaseCancelled(Exception):
    """Raised at the next step boundary after :meth:`StepControl.cancel` (a customer's cancellation)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StepControl:
    """The steps of one execution: runs them, parks them, applies decisions, reports them."""

    def __init__(self, pipeline: str, *, audience: str = "operators") -> None:
        """Create the component for a workflow of ``pipeline``; notices go to ``audience``."""
        self.pipeline = pipeline
        self.parks = True
        """False for executions started before their workflow ran under step control: every
        failure is then raised as it was (set from the workflow's ``workflow.patched``)."""
        self.current_step: str | None = None
        """The forward step running now; after a failure, the step that failed."""
        self.completed_steps: list[str] = []
        """Forward steps that finished (succeeded or skipped), in order."""
        self._audience = audience
        self._records: dict[str, StepRecord] = {}
        self._effects = StepEffects(pipeline)
        self._decisions = Decisions(self._records, self._effects)
        self._saga = Saga()
        self._cancellation: str | None = None
        self._wait_rounds: dict[str, int] = {}

    # ----- running steps -------------------------------------------------------------

    async def run(
        self,
        name: str,
        activity: ActivityRef[In, Out],
        arg: In,
        *,
        policy: StepPolicy,
        undo: Undo[Any] | None = None,
        progress: bool = True,
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
    ) -> Out:
        """Run ``activity`` as step ``name`` and return its output.

        An operator's skip of a step that has an output must carry a substitute for it (the
        decision is refused otherwise). ``undo`` is registered for :meth:`compensate` before
        the step runs. ``progress=False`` for steps that are not the case's progress (a
        failure record, a dead letter): they are not reported as current or completed and a
        cancellation does not stop them. A ``local`` policy runs it as a local activity.
        """
        required = activity.output is not NONE_TYPE
        result = await self._run_activity(name, activity, arg, policy, undo, progress, limiter, attention, required)
        return cast(Out, result)

    async def run_optional(
        self,
        name: str,
        activity: ActivityRef[In, Out],
        arg: In,
        *,
        policy: StepPolicy,
        progress: bool = True,
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
    ) -> Out | None:
        """:meth:`run` for a step the workflow can do without: a plain skip returns None."""
        return cast(
            "Out | None",
            await self._run_activity(name, activity, arg, policy, None, progress, limiter, attention, False),
        )

    async def run_child(
        self,
        name: str,
        child_run: Callable[..., Awaitable[T]],
        arg: Any,
        *,
        id: str,
        result_type: type[T],
        on_exhausted: OnFailure = "park",
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
        progress: bool = False,
        **options: Any,
    ) -> T | None:
        """Run a child workflow as step ``name``; a retry starts it again under the same id.

        A plain skip returns None (the parent reports the child as skipped). ``progress`` as
        for :meth:`run_call` (a parent whose children are its steps names the one it stopped at).
        """

        async def call() -> T:
            return await workflow.execute_child_workflow(child_run, arg, id=id, **options)

        return await self.run_call(
            name,
            call,
            kind="child",
            on_exhausted=on_exhausted,
            on_non_retryable=on_exhausted,
            limiter=limiter,
            attention=attention,
            result_type=result_type,
            progress=progress,
        )

    async def run_call(
        self,
        name: str,
        call: Callable[[], Awaitable[T]],
        *,
        kind: str = "call",
        on_exhausted: OnFailure = "park",
        on_non_retryable: OnFailure = "park",
        not_retried: Sequence[str] = (),
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
        result_type: type | None = None,
        output_required: bool = False,
        max_attempts: int = 0,
        progress: bool = False,
        fails_on: Sequence[str] = (),
    ) -> T | None:
        """Run ``call`` as step ``name`` until it succeeds, is skipped, or is aborted.

        Args:
            name: Unique step name; ``kind:detail`` names (``compare:loans``) are labelled
                by ``kind`` in metrics.
            call: Starts one run of the step (activity, child, or a composite coroutine).
            kind: How the step is reported.
            on_exhausted: A failure after the retries ran out: ``park`` to wait for an
                operator, ``fail`` to re-raise it.
            on_non_retryable: The same for a non-retryable error (one raised as such, or
                of a type in ``not_retried``).
            not_retried: The retry policy's non-retryable error types.
            limiter: Held around each run only (not while parked), e.g. an asyncio.Semaphore.
            attention: Remind/escalate/default while parked.
            result_type: Type a skip's substitute output is converted to.
            output_required: The workflow needs this step's output: a skip must carry a
                substitute output of ``result_type`` (the decision is refused otherwise).
            max_attempts: The retry policy's attempt cap, to count attempts.
            progress: The step is part of the case's progress (current / completed steps),
                and a pending cancellation stops the case before it.
            fails_on: Error types re-raised to the workflow whatever ``on_non_retryable`` says
                (the case's business outcome, e.g. a refused document), while other
                non-retryable errors park.

        Returns:
            The step's result, a skip's substitute output, or None for a plain skip.

        Raises:
            CaseCancelled: ``progress`` and the case was cancelled before this step.
            ApplicationError: ``StepAborted`` when an operator aborts (here or in a child).
        """
        if progress:
            if self._cancellation is not None:
                raise CaseCancelled(self._cancellation)
            self.current_step = name
        result: T | None = await self._run_loop(
            name,
            call,
            kind,
            on_exhausted if self.parks else "fail",
            on_non_retryable if self.parks else "fail",
            not_retried,
            limiter,
            attention,
            OutputContract(result_type, output_required),
            max_attempts,
            tuple(fails_on),
        )
        if progress:
            self.completed_steps.append(name)
            self.current_step = None
        return result

    # ----- cancellation and compensation ---------------------------------------------

    def cancel(self, reason: str) -> None:
        """Stop the case before its next forward step (the running one finishes first: a payment
        in flight completes and is then refunded, rather than leaving a charge no undo sees)."""
        self._cancellation = reason

    def stopped_at(self) -> str | None:
        """The forward step the case stopped at (None between steps); no step is current after."""
        step, self.current_step = self.current_step, None
        return step

    async def compensate(self) -> list[CompensationOutcome]:
        """Run every registered undo, newest first, each once, under its policy.

        One that fails (or is aborted by an operator) is recorded as failed and the rest still run.
        """
        return await self._saga.compensate()

    @property
    def compensations(self) -> list[CompensationOutcome]:
        """The compensations run so far, in order."""
        return list(self._saga.outcomes)

    # ----- internals of running -------------------------------------------------------

    async def _run_activity(
        self,
        name: str,
        activity: ActivityRef[Any, Any],
        arg: Any,
        policy: StepPolicy,
        undo: Undo[Any] | None,
        progress: bool,
        limiter: AbstractAsyncContextManager[Any] | None,
        attention: AttentionPolicy | None,
        output_required: bool,
    ) -> Any:
        if undo is not None:
            self._saga.register(undo.name, lambda: self._undo(undo))
        result_type = None if activity.output is NONE_TYPE else activity.output
        options = policy.activity_options()

        async def call() -> Any:
            if policy.local:
                return await workflow.execute_local_activity(activity.name, arg, result_type=result_type, **options)
            return await workflow.execute_activity(activity.name, arg, result_type=result_type, **options)

        return await self.run_call(
            name,
            call,
            kind="local" if policy.local else "call",
            on_exhausted=policy.on_exhausted,
            on_non_retryable=policy.on_non_retryable,
            not_retried=tuple(policy.retry.non_retryable_error_types or ()),
            limiter=limiter,
            attention=attention,
            result_type=result_type,
            output_required=output_required,
            max_attempts=policy.retry.maximum_attempts,
            progress=progress,
            fails_on=policy.fails_on,
        )

    async def _undo(self, undo: Undo[Any]) -> None:
        await self._run_activity(undo.name, undo.activity, undo.input(), undo.policy, None, False, None, None, False)

    async def _run_loop(
        self,
        name: str,
        call: Callable[[], Awaitable[T]],
        kind: str,
        on_exhausted: OnFailure,
        on_non_retryable: OnFailure,
        not_retried: Sequence[str],
        limiter: AbstractAsyncContextManager[Any] | None,
        attention: AttentionPolicy | None,
        output: OutputContract,
        max_attempts: int,
        fails_on: tuple[str, ...] = (),
    ) -> T | None:
        record = self._record(name, kind)
        while True:
            record.begin(workflow.now())
            try:
                if limiter is not None:
                    async with limiter:
                        result = await call()
                else:
                    result = await call()
            except FailureError as error:
                # Local activities raise their ApplicationError directly. Cancellation (of the
                # workflow, or of this step by a sibling's abort) is not a failure to park.
                if isinstance(error, CancelledError | TerminatedError) or isinstance(error.cause, CancelledError):
                    record.finish("cancelled", workflow.now())
                    raise
                abort = find_abort(error)
                if abort is not None:
                    record.status = "aborted"
                    raise ApplicationError(abort.message, type=STEP_ABORTED, non_retryable=True) from None
                failure = describe_failure(error)
                exhausted = getattr(error, "retry_state", None) == RetryState.MAXIMUM_ATTEMPTS_REACHED
                record.fail(failure.error_type, failure.message, max_attempts if exhausted and max_attempts else 1)
                final = failure.error_type in not_retried or is_non_retryable(error)
                if (on_non_retryable if final else on_exhausted) == "fail" or failure.error_type in fails_on:
                    raise
                decision = await self._park(record, STEP_ACTIONS, attention, output=output)
                if decision.action == "retry":
                    continue
                if decision.action == "skip":
                    record.finish("skipped", workflow.now(), substituted=decision.substitute_output is not None)
                    substitute: T | None = output.convert(decision.substitute_output)
                    return substitute
                record.finish("aborted", workflow.now())
                raise ApplicationError(
                    f"step {name} aborted by {decision.operator}: {decision.reason}",
                    type=STEP_ABORTED,
                    non_retryable=True,
                ) from None
            record.finish("succeeded", workflow.now())
            return result

    async def gate(
        self,
        name: str,
        *,
        subject: str,
        body: str,
        attention: AttentionPolicy | None = None,
        audience: str = "",
        form: ReviewForm | None = None,
    ) -> GateAnswer:
        """Wait at gate ``name`` for ``approve`` or ``reject``; notify ``audience`` first.

        With a ``form``, the status query shows it while the gate waits, an ``approve`` must
        answer every field validly (:mod:`workflows.common.form_answers`; refused otherwise, by
        the update's validator and on the signal path alike) and a ``reject`` must give a
        reason. The answers come back in :attr:`GateAnswer.answers` and are audited.
        """
        record = self._record(name, "gate")
        record.begin(workflow.now())
        decision = await self._park(
            record, GATE_ACTIONS, attention, audience=audience, notice=(subject, body), form=form
        )
        record.finish("approved" if decision.action == "approve" else "rejected", workflow.now())
        return GateAnswer(
            approved=decision.action == "approve",
            operator=decision.operator,
            reason=decision.reason,
            answers=dict(decision.answers),
        )

    async def wait_for(
        self,
        name: str,
        condition: Callable[[], bool],
        *,
        describe: Callable[[], str],
        attention: AttentionPolicy | None = None,
        audience: str = "",
    ) -> None:
        """Wait as step ``name`` (kind ``wait``) until ``condition()`` holds; nobody decides it.

        The status query shows the step ``waiting`` meanwhile; it is not marked in visibility as
        needing attention and takes no decision. ``attention``'s remind and escalate stages send
        notices (to ``audience``, escalations to the operators) whose subject is ``describe()``
        at the time of the notice; its default action does not apply. The step then finishes
        ``succeeded``. Waiting on the same name again is a new round with fresh notice keys.
        """
        record = self._record(name, "wait")
        record.begin(workflow.now())
        self._wait_rounds[name] = self._wait_rounds.get(name, 0) + 1
        key = f"{name}#{self._wait_rounds[name]}"
        since = workflow.now()
        record.status = "waiting"
        audience = audience or self._audience
        try:
            stages: list[tuple[float, str]] = []
            if attention is not None:
                if attention.remind_after_seconds is not None:
                    stages.append((attention.remind_after_seconds, "remind"))
                if attention.escalate_after_seconds is not None:
                    stages.append((attention.escalate_after_seconds, "escalate"))
            for after, stage in sorted(stages):
                if not _timer_can_hold(after):
                    continue
                remaining = after - (workflow.now() - since).total_seconds()
                try:
                    await workflow.wait_condition(condition, timeout=max(remaining, 0.001))
                except TimeoutError:
                    what = describe()
                    body = f"{name} has waited {after:.0f}s: {what}"
                    if stage == "remind":
                        await self._effects.notify(f"{key}:remind", audience, f"Reminder: {what}", body)
                    else:
                        await self._effects.notify(f"{key}:escalate", "operators", f"Escalated: {what}", body)
                if condition():
                    break
            await workflow.wait_condition(condition)
        except GeneratorExit:  # a discarded coroutine: no workflow calls (workflows.common.cleanup)
            raise
        except BaseException:  # the workflow (or a sibling's abort) cancelled the wait
            record.finish("cancelled", workflow.now())
            raise
        record.finish("succeeded", workflow.now())

    async def run_all(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Await every call; if one raises (an abort), cancel the others and re-raise."""
        tasks = [asyncio.ensure_future(call) for call in calls]
        try:
            return list(await asyncio.gather(*tasks))
        except GeneratorExit:  # a discarded coroutine: no workflow calls (workflows.common.cleanup)
            raise
        except BaseException:  # an abort or a cancellation: stop the siblings, then re-raise
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def skipped(self, name: str) -> bool:
        """True when step ``name`` was skipped by an operator."""
        record = self._records.get(name)
        return record is not None and record.status == "skipped"

    def skipped_by(self, name: str) -> str:
        """Who skipped step ``name`` ("" when it was not skipped)."""
        record = self._records.get(name)
        return record.decided_by if record is not None and record.status == "skipped" else ""

    async def settle(self) -> None:
        """Wait for decision handlers still writing their audit (call before returning)."""
        await workflow.wait_condition(workflow.all_handlers_finished)

    # ----- decisions (workflows.common.step_decisions does the work) ----------------------------------------

    def validate(self, decision: StepDecision) -> None:
        """Update validator: raise (and leave no history event) unless the decision applies."""
        self._decisions.validate(decision)

    async def decide(self, decision: StepDecision, *, via: str = "update") -> DecisionOutcome:
        """Apply a validated decision (or return the outcome of the one it repeats)."""
        return await self._decisions.decide(decision, via=via)

    async def decide_by_signal(self, decision: StepDecision) -> None:
        """Signal handler: the same checks as the update; a rejection is audited, nothing changes."""
        await self._decisions.decide_by_signal(decision)

    def status(self) -> StepControlStatus:
        """Every step's status, attempts, last error and timings."""
        waiting = sorted(self._decisions.parks.values(), key=lambda park: park.since)
        return StepControlStatus(
            pipeline=self.pipeline,
            steps=[record.state(self._decisions.parks.get(name)) for name, record in self._records.items()],
            waiting=[park.step for park in waiting],
        )

    # ----- internals -----------------------------------------------------------------

    def _record(self, name: str, kind: str) -> StepRecord:
        if name not in self._records:
            self._records[name] = StepRecord(name, kind)
        return self._records[name]

    async def _park(
        self,
        record: StepRecord,
        actions: tuple[str, ...],
        attention: AttentionPolicy | None,
        *,
        audience: str = "",
        notice: tuple[str, str] | None = None,
        output: OutputContract | None = None,
        form: ReviewForm | None = None,
    ) -> StepDecision:
        name = record.name
        park = self._decisions.open(record, actions, workflow.now(), output or OutputContract(), form)
        record.status = "waiting" if record.kind == "gate" else "parked"
        self._effects.count_parked(name)
        self._refresh_visibility()
        audience = audience or self._audience
        async with at_exit(lambda: self._unpark(park)):
            subject, body = notice or self._effects.parked_notice(record)
            park.subject, park.body = subject, body
            await self._effects.notify(f"{park.key}:notice", audience, subject, body)
            return await self._wait(park, attention, audience, subject)

    def _unpark(self, park: Park) -> None:
        self._decisions.close(park)
        self._refresh_visibility()
        self._effects.observe_wait(park.step, (workflow.now() - park.since).total_seconds())

    async def _wait(self, park: Park, attention: AttentionPolicy | None, audience: str, subject: str) -> StepDecision:
        stages: list[tuple[float, str]] = []
        if attention is not None:
            for seconds, stage in (
                (attention.remind_after_seconds, "remind"),
                (attention.escalate_after_seconds, "escalate"),
                (attention.default_after_seconds if attention.default_action else None, "default"),
            ):
                if seconds is not None:
                    stages.append((seconds, stage))
        for after, stage in sorted(stages):
            if not _timer_can_hold(after):
                continue
            remaining = after - (workflow.now() - park.since).total_seconds()
            try:
                await workflow.wait_condition(lambda: park.decision is not None, timeout=max(remaining, 0.001))
            except TimeoutError:
                await self._escalate(park, stage, after, audience, subject, attention)
            if park.decision is not None:
                return park.decision
        await workflow.wait_condition(lambda: park.decision is not None)
        assert park.decision is not None
        return park.decision

    async def _escalate(
        self, park: Park, stage: str, after: float, audience: str, subject: str, attention: AttentionPolicy | None
    ) -> None:
        waited = f"no decision on {park.step} after {after:.0f}s"
        if stage == "remind":
            await self._effects.notify(f"{park.key}:remind", audience, f"Reminder: {subject}", waited)
        elif stage == "escalate":
            await self._effects.notify(f"{park.key}:escalate", "operators", f"Escalated: {subject}", waited)
        elif attention is not None and attention.default_action and not park.claimed:
            if attention.default_action not in park.actions:
                # A policy written for gates (approve/reject) does not decide a parked step.
                workflow.logger.warning("default action %s does not apply to %s", attention.default_action, park.step)
                return
            if park.form is not None and attention.default_action == "approve":
                # Nobody answered the form: a timeout cannot approve it (a reject can).
                workflow.logger.warning("default approve does not apply to %s: it has a form", park.step)
                return
            decision = StepDecision(
                step=park.step, action=attention.default_action, operator=TIMEOUT_OPERATOR, reason=waited
            )
            self._decisions.claim(park)
            await self._decisions.accept(park, decision, "timeout")

    def _refresh_visibility(self) -> None:
        oldest = self._decisions.oldest()
        self._effects.mark_attention(None if oldest is None else (oldest.step, oldest.since))
        waiting = sorted(self._decisions.parks.values(), key=lambda park: park.since)
        self._effects.show_waiting([(park, self._records[park.step]) for park in waiting])


class StepControlHandlers:
    """Mixin giving a workflow the decision update, the decision signal and the status query.

    The workflow must set ``self.steps = StepControl(...)`` in ``__init__``.
    """

    steps: StepControl

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, decision: StepDecision) -> DecisionOutcome:
        """Retry, skip or abort a parked step; approve or reject a gate."""
        return await self.steps.decide(decision, via="update")

    @decide.validator
    def validate_decision(self, decision: StepDecision) -> None:
        """Reject unknown steps and actions, steps not waiting, and anonymous decisions."""
        self.steps.validate(decision)

    @workflow.signal(name=DECISION_SIGNAL)
    async def decision_signal(self, decision: StepDecision) -> None:
        """The same decision as a signal; an invalid one is audited as rejected."""
        await self.steps.decide_by_signal(decision)

    @workflow.query(name=STEPS_QUERY)
    def step_status(self) -> StepControlStatus:
        """Every step's status, attempts, last error and timings."""
        return self.steps.status()
