"""Step control: any step of any workflow can park for an operator, who retries, skips or aborts it.

A workflow holds one :class:`StepControl` and inherits :class:`StepControlHandlers`, which
registers the decision update (with its validator), the decision signal and the status
query once for every workflow class::

    @workflow.defn
    class MyWorkflow(StepControlHandlers):
        def __init__(self) -> None:
            self.steps = StepControl("my-pipeline")

        @workflow.run
        async def run(self, request: MyInput) -> MyOutput:
            result = await self.steps.run("provision", MyActivities.provision, request, policy=PROVISION)
            ...
            await self.steps.settle()

``run`` (activities), ``run_local`` (local activities), ``run_child`` (child workflows)
and ``run_call`` (any coroutine, e.g. start + poll) share one loop: when a step fails
after its retries and was declared ``on_exhausted="park"``, the failure is recorded,
the execution is marked in visibility (``StepwiseNeedsAttention``), the operators are
notified once, and the step waits. ``retry`` runs that step again (nothing before it),
``skip`` continues with an optional substitute output, ``abort`` raises a ``StepAborted``
error that the workflow's own ``finally``/compensation code sees before it fails.
:meth:`StepControl.gate` waits for ``approve``/``reject`` the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.exceptions import ApplicationError, CancelledError, FailureError, RetryState, TerminatedError

with workflow.unsafe.imports_passed_through():
    from activities.step_control import (
        DECIDE_UPDATE,
        DECISION_SIGNAL,
        GATE_ACTIONS,
        STEP_ACTIONS,
        STEPS_QUERY,
        AttentionPolicy,
        DecisionOutcome,
        StepControlStatus,
        StepDecision,
        StepState,
    )
    from workflows.policies import OnFailure, StepPolicy
    from workflows.step_decisions import Decisions
    from workflows.step_effects import StepEffects
    from workflows.step_records import (
        OutputContract,
        Park,
        StepRecord,
        describe_failure,
        find_abort,
        is_non_retryable,
    )


T = TypeVar("T")

ABORTED = "StepAborted"
"""ApplicationError type raised when an operator aborts a step (the workflow then fails)."""
TIMEOUT_OPERATOR = "stepwise:timeout"
"""Operator name of decisions applied by an attention policy's default action."""

__all__ = [
    "ABORTED",
    "GATE_ACTIONS",
    "STEP_ACTIONS",
    "AttentionPolicy",
    "DecisionOutcome",
    "GateDecision",
    "StepControl",
    "StepControlHandlers",
    "StepControlStatus",
    "StepDecision",
    "StepState",
]


@dataclass(frozen=True)
class GateDecision:
    """How a gate was answered."""

    approved: bool
    """True when approved."""
    operator: str
    """Who answered (``stepwise:timeout`` for a default action)."""
    reason: str
    """Why."""

    @classmethod
    def of(cls, decision: StepDecision) -> GateDecision:
        """The answer an accepted ``approve``/``reject`` decision gives."""
        return cls(approved=decision.action == "approve", operator=decision.operator, reason=decision.reason)


class StepControl:
    """The steps of one execution: runs them, parks them, applies decisions, reports them."""

    def __init__(self, pipeline: str, *, audience: str = "operators") -> None:
        """Create the component for a workflow of ``pipeline``; notices go to ``audience``."""
        self.pipeline = pipeline
        self._audience = audience
        self._records: dict[str, StepRecord] = {}
        self._effects = StepEffects(pipeline)
        self._decisions = Decisions(self._records, self._effects)

    # ----- running steps -------------------------------------------------------------

    @overload
    async def run(
        self,
        name: str,
        activity: Callable[..., Awaitable[Any]],
        arg: Any,
        *,
        policy: StepPolicy,
        output: type[T],
        on_exhausted: OnFailure | None = None,
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
    ) -> T: ...

    @overload
    async def run(
        self,
        name: str,
        activity: Callable[..., Awaitable[T]],
        arg: Any,
        *,
        policy: StepPolicy,
        output: None = None,
        on_exhausted: OnFailure | None = None,
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
        result_type: type | None = None,
    ) -> T | None: ...

    async def run(
        self,
        name: str,
        activity: Callable[..., Awaitable[Any]],
        arg: Any,
        *,
        policy: StepPolicy,
        output: type | None = None,
        on_exhausted: OnFailure | None = None,
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
        result_type: type | None = None,
    ) -> Any:
        """Run an activity (method or function) as step ``name``; see :meth:`run_call`.

        With ``output`` the workflow needs the step's result: it is returned as that type,
        and a skip must carry a substitute of it. Without, a skip may carry a substitute
        (converted to ``result_type``) or none, and the step then returns None.

        A ``local`` policy runs it as a local activity, in the current workflow task. What a
        failure does is the policy's (``on_exhausted``, ``on_non_retryable``), unless
        ``on_exhausted`` is given here.
        """
        execute = workflow.execute_local_activity if policy.local else workflow.execute_activity

        async def call() -> Any:
            return await execute(activity, arg, **policy.activity_options())

        return await self.run_call(
            name,
            call,
            kind="local" if policy.local else "call",
            on_exhausted=on_exhausted or policy.on_exhausted,
            on_non_retryable=on_exhausted or policy.on_non_retryable,
            not_retried=tuple(policy.retry.non_retryable_error_types or ()),
            limiter=limiter,
            attention=attention,
            result_type=output or result_type,
            output_required=output is not None,
            max_attempts=policy.retry.maximum_attempts,
        )

    async def run_local(
        self,
        name: str,
        activity: Callable[..., Awaitable[T]],
        arg: Any,
        *,
        policy: StepPolicy,
        on_exhausted: OnFailure | None = None,
        attention: AttentionPolicy | None = None,
        result_type: type | None = None,
    ) -> T | None:
        """Run an activity as a local activity, whatever the policy says (see :meth:`run`)."""
        return await self.run(
            name,
            activity,
            arg,
            policy=replace(policy, local=True),
            on_exhausted=on_exhausted,
            attention=attention,
            result_type=result_type,
        )

    async def run_child(
        self,
        name: str,
        child_run: Callable[..., Awaitable[T]],
        arg: Any,
        *,
        id: str,
        on_exhausted: OnFailure = "park",
        limiter: AbstractAsyncContextManager[Any] | None = None,
        attention: AttentionPolicy | None = None,
        result_type: type | None = None,
        **options: Any,
    ) -> T | None:
        """Run a child workflow as step ``name``; a retry starts it again under the same id."""

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

        Returns:
            The step's result, a skip's substitute output, or None for a plain skip.

        Raises:
            ApplicationError: ``StepAborted`` when an operator aborts (here or in a child).
        """
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
                abort = find_abort(error, ABORTED)
                if abort is not None:
                    record.status = "aborted"
                    raise ApplicationError(abort.message, type=ABORTED, non_retryable=True) from None
                error_type, message = describe_failure(error)
                exhausted = getattr(error, "retry_state", None) == RetryState.MAXIMUM_ATTEMPTS_REACHED
                record.fail(error_type, message, max_attempts if exhausted and max_attempts else 1)
                final = error_type in not_retried or is_non_retryable(error)
                if (on_non_retryable if final else on_exhausted) == "fail":
                    raise
                output = OutputContract(result_type, output_required)
                decision = await self._park(record, STEP_ACTIONS, attention, output=output)
                if decision.action == "retry":
                    continue
                if decision.action == "skip":
                    record.finish("skipped", workflow.now(), substituted=decision.substitute_output is not None)
                    substitute: T | None = self._substitute(decision.substitute_output, result_type)
                    return substitute
                record.finish("aborted", workflow.now())
                raise ApplicationError(
                    f"step {name} aborted by {decision.operator}: {decision.reason}", type=ABORTED, non_retryable=True
                ) from None
            record.finish("succeeded", workflow.now())
            return result

    async def gate(
        self, name: str, *, subject: str, body: str, attention: AttentionPolicy | None = None, audience: str = ""
    ) -> GateDecision:
        """Wait at gate ``name`` for ``approve`` or ``reject``; notify ``audience`` first."""
        record = self._record(name, "gate")
        record.begin(workflow.now())
        decision = await self._park(record, GATE_ACTIONS, attention, audience=audience, notice=(subject, body))
        record.finish("approved" if decision.action == "approve" else "rejected", workflow.now())
        return GateDecision.of(decision)

    async def run_all(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Await every call; if one raises (an abort), cancel the others and re-raise."""
        tasks = [asyncio.ensure_future(call) for call in calls]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:  # an abort or a cancellation: stop the siblings, then re-raise
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def skipped(self, name: str) -> bool:
        """True when step ``name`` was skipped by an operator."""
        record = self._records.get(name)
        return record is not None and record.status == "skipped"

    async def settle(self) -> None:
        """Wait for decision handlers still writing their audit (call before returning)."""
        await workflow.wait_condition(workflow.all_handlers_finished)

    # ----- decisions (workflows.step_decisions does the work) ----------------------------------------

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
    ) -> StepDecision:
        name = record.name
        park = self._decisions.open(record, actions, workflow.now(), output or OutputContract())
        record.status = "waiting" if record.kind == "gate" else "parked"
        self._effects.count_parked(name)
        self._refresh_visibility()
        audience = audience or self._audience
        try:
            subject, body = notice or self._effects.parked_notice(record)
            await self._effects.notify(f"{park.key}:notice", audience, subject, body)
            return await self._wait(park, attention, audience, subject)
        finally:
            self._decisions.close(park)
            self._refresh_visibility()
            self._effects.observe_wait(name, (workflow.now() - park.since).total_seconds())

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
            decision = StepDecision(
                step=park.step, action=attention.default_action, operator=TIMEOUT_OPERATOR, reason=waited
            )
            self._decisions.claim(park)
            await self._decisions.accept(park, decision, "timeout")

    def _refresh_visibility(self) -> None:
        oldest = self._decisions.oldest()
        self._effects.mark_attention(None if oldest is None else (oldest.step, oldest.since))

    def _substitute(self, value: Any, result_type: type | None) -> Any:
        return OutputContract(result_type).convert(value)


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
