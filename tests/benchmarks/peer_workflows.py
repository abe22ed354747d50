"""The peers' common ground: five trivial steps (three Postgres writes, two no-ops), run
through Stepwise's step runner and as a bare Temporal workflow (benchmarks only).

Both workflows run the same activities in the same order under the same timeouts; the only
difference is step control (records, progress, the decision handlers) around each call.
The DBOS version of the same five steps is in ``tests.benchmarks.test_peers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from temporalio import activity, workflow
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


PEER_WRITE = ActivityRef("peer_write", PeerStep, type(None))
PEER_NOOP = ActivityRef("peer_noop", PeerStep, type(None))
SHAPE = (PEER_WRITE, PEER_NOOP, PEER_WRITE, PEER_NOOP, PEER_WRITE)
"""The five steps, in order."""
POLICY = StepPolicy(start_to_close=timedelta(seconds=10), retry=RetryPolicy(maximum_attempts=3))


@activity.defn(name=PEER_NOOP.name)
async def peer_noop(step: PeerStep) -> None:
    """A step that does nothing."""


@workflow.defn
class PeerStepwiseWorkflow(StepControlHandlers):
    """The five steps through step control."""

    def __init__(self) -> None:
        self.steps = StepControl("peers")

    @workflow.run
    async def run(self, run_id: str) -> int:
        for index, ref in enumerate(SHAPE):
            await self.steps.run(f"step-{index}", ref, PeerStep(run_id, index), policy=POLICY)
        await self.steps.settle()
        return len(SHAPE)


@workflow.defn
class PeerBareWorkflow:
    """The five steps as plain Temporal activity calls."""

    @workflow.run
    async def run(self, run_id: str) -> int:
        for index, ref in enumerate(SHAPE):
            await workflow.execute_activity(ref.name, PeerStep(run_id, index), **POLICY.activity_options())
        return len(SHAPE)


PEER_TABLE = "bench_peer_steps"
"""Where the peers' writes land (benchmark-only; created by the benchmark, dropped after)."""


class PeerWrites:
    """The Postgres write every peer runs: one idempotent insert per step, through SQLAlchemy."""

    def __init__(self, sessions: Any) -> None:
        self._sessions = sessions

    async def create_table(self) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {PEER_TABLE} "
                    "(run_id text NOT NULL, step int NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), "
                    "PRIMARY KEY (run_id, step))"
                )
            )

    async def drop_table(self) -> None:
        async with self._sessions.begin() as session:
            await session.execute(text(f"DROP TABLE IF EXISTS {PEER_TABLE}"))

    async def count(self) -> int:
        async with self._sessions() as session:
            return int((await session.execute(text(f"SELECT count(*) FROM {PEER_TABLE}"))).scalar_one())

    async def insert(self, step: PeerStep) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                text(f"INSERT INTO {PEER_TABLE} (run_id, step) VALUES (:run_id, :step) ON CONFLICT DO NOTHING"),
                {"run_id": step.run_id, "step": step.step},
            )

    @activity.defn(name=PEER_WRITE.name)
    async def write(self, step: PeerStep) -> None:
        """The activity: the insert."""
        await self.insert(step)
