"""A small workflow under step control, for testing the component itself (not a product workflow)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import ActivityRef, AttentionPolicy

from workflows.common.cleanup import at_exit
from workflows.common.step_control import StepControl, StepControlHandlers
from workflows.common.step_policy import OnFailure, StepPolicy

PROBE_POLICY = StepPolicy(start_to_close=timedelta(seconds=10), retry=RetryPolicy(maximum_attempts=2))
PROBE_RETRY_POLICY = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3),
)


@dataclass(frozen=True)
class ProbeCall:
    """One step's call."""

    step: str


@dataclass(frozen=True)
class ProbeOutput:
    """What a probe step produced."""

    value: str


@dataclass(frozen=True)
class ProbeInput:
    """Steps to run in order (``local:``/``child:`` prefixes pick the kind), then maybe a gate."""

    steps: list[str]
    gate: bool = False
    attention: AttentionPolicy | None = None
    fail_mode: str = "park"


@dataclass(frozen=True)
class ProbeResult:
    """Each step's value ('' when skipped), and the gate's answer."""

    values: list[str] = field(default_factory=list)
    approved: bool | None = None
    gate_operator: str = ""


PROBE_STEP = ActivityRef("step_probe", ProbeCall, ProbeOutput)
PROBE_CLEANUP = ActivityRef("step_probe_cleanup", ProbeCall, type(None))


class ProbeActivities:
    """Counts runs per step; an armed step fails (non-retryable unless ``retryable`` is set)."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}
        self.armed: set[str] = set()
        self.retryable: set[str] = set()
        self.cleanups = 0

    @activity.defn(name=PROBE_STEP.name)
    async def step(self, call: ProbeCall) -> ProbeOutput:
        self.runs[call.step] = self.runs.get(call.step, 0) + 1
        if call.step.startswith("slow:"):
            await asyncio.sleep(5)
        if call.step in self.armed:
            raise ApplicationError(
                f"injected fault in {call.step}", type="InjectedFault", non_retryable=call.step not in self.retryable
            )
        return ProbeOutput(value=f"{call.step}-ok")

    @activity.defn(name=PROBE_CLEANUP.name)
    async def cleanup(self, call: ProbeCall) -> None:
        self.cleanups += 1


@workflow.defn
class ProbeChildWorkflow:
    """A child step: one activity, no retries."""

    @workflow.run
    async def run(self, call: ProbeCall) -> ProbeOutput:
        return await workflow.execute_activity_method(ProbeActivities.step, call, **PROBE_POLICY.activity_options())


@workflow.defn
class StepProbeWorkflow(StepControlHandlers):
    """Runs the steps it is given under step control; always runs its cleanup."""

    def __init__(self) -> None:
        self.steps = StepControl("probe")

    @workflow.run
    async def run(self, request: ProbeInput) -> ProbeResult:
        values: list[str] = []
        async with at_exit(self._cleanup):
            for name in request.steps:
                output = await self._step(name, request)
                values.append(output.value if output else "")
            result = ProbeResult(values=values)
            if request.gate:
                decision = await self.steps.gate(
                    "signoff", subject="probe sign-off", body="approve?", attention=request.attention
                )
                result = ProbeResult(values=values, approved=decision.approved, gate_operator=decision.operator)
        return result

    async def _cleanup(self) -> None:
        # Outside step control on purpose: the tests count the steps the probe was given.
        await workflow.execute_activity(PROBE_CLEANUP.name, ProbeCall("cleanup"), **PROBE_POLICY.activity_options())
        await self.steps.settle()

    async def _step(self, name: str, request: ProbeInput) -> ProbeOutput | None:
        call = ProbeCall(name)
        mode: OnFailure = "fail" if request.fail_mode == "fail" else "park"
        if name.startswith("local:"):
            local = replace(PROBE_POLICY, local=True, on_exhausted=mode, on_non_retryable=mode)
            return await self.steps.run_optional(name, PROBE_STEP, call, policy=local)
        if name.startswith("child:"):
            return await self.steps.run_child(
                name,
                ProbeChildWorkflow.run,
                call,
                id=f"{workflow.info().workflow_id}-{name.replace(':', '-')}",
                on_exhausted=mode,
                result_type=ProbeOutput,
            )
        policy = PROBE_RETRY_POLICY if name.startswith("retrying:") else PROBE_POLICY
        policy = replace(policy, on_exhausted=mode, on_non_retryable=mode)
        return await self.steps.run_optional(name, PROBE_STEP, call, policy=policy, attention=request.attention)
