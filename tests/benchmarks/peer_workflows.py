"""The peers' common ground: five trivial steps (three Postgres writes, two no-ops), run
through Stepwise's step runner and as a bare Temporal workflow (benchmarks only).

Both run the same activities in the same order under the same timeouts; the only difference
is step control (records, progress, the decision handlers) around each call. A run's input
says how its steps run: as task-queue activities (each step a round trip through the Temporal
server, as the pipelines' AWS and partner calls are), or as local activities, in the worker
that runs the workflow task (as booking runs its short Postgres steps, and as DBOS runs every
step: in the process that runs the workflow).
The activities are in ``tests.benchmarks.peer_steps`` (this module is re-imported by the
sandbox for every run, so it imports nothing it does not need); the DBOS version of the
same five steps is in ``tests.benchmarks.test_peers``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import ActivityRef
    from workflows.common.step_control import StepControl, StepControlHandlers
    from workflows.common.step_policy import StepPolicy


@dataclass(frozen=True)
class PeerStep:
    """One step of one run."""

    run_id: str
    step: int


@dataclass(frozen=True)
class PeerRun:
    """One run: its id, and whether its steps run as local activities."""

    run_id: str
    local: bool = False


PEER_WRITE = ActivityRef("peer_write", PeerStep, type(None))
PEER_NOOP = ActivityRef("peer_noop", PeerStep, type(None))
SHAPE = (PEER_WRITE, PEER_NOOP, PEER_WRITE, PEER_NOOP, PEER_WRITE)
"""The five steps, in order."""
POLICY = StepPolicy(start_to_close=timedelta(seconds=10), retry=RetryPolicy(maximum_attempts=3))
LOCAL_POLICY = replace(POLICY, local=True)


@workflow.defn
class PeerStepwiseWorkflow(StepControlHandlers):
    """The five steps through step control."""

    def __init__(self) -> None:
        self.steps = StepControl("peers")

    @workflow.run
    async def run(self, peer: PeerRun) -> int:
        policy = LOCAL_POLICY if peer.local else POLICY
        for index, ref in enumerate(SHAPE):
            await self.steps.run(f"step-{index}", ref, PeerStep(peer.run_id, index), policy=policy)
        await self.steps.settle()
        return len(SHAPE)


@workflow.defn
class PeerBareWorkflow:
    """The five steps as plain Temporal activity (or local activity) calls."""

    @workflow.run
    async def run(self, peer: PeerRun) -> int:
        for index, ref in enumerate(SHAPE):
            step = PeerStep(peer.run_id, index)
            if peer.local:
                await workflow.execute_local_activity(ref.name, step, **LOCAL_POLICY.activity_options())
            else:
                await workflow.execute_activity(ref.name, step, **POLICY.activity_options())
        return len(SHAPE)
