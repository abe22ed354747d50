"""The peers' steps: one idempotent Postgres insert, and a no-op (benchmarks only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from temporalio import activity

from tests.benchmarks.peer_workflows import PEER_NOOP, PEER_WRITE, PeerStep


@activity.defn(name=PEER_NOOP.name)
async def peer_noop(step: PeerStep) -> None:
    """A step that does nothing."""


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
