"""A task's status, moved only forward: the one UPDATE every poller step uses.

The fetch activity and the queue consumer race by design (the consumer may store a page
before the activity has recorded that it enqueued it), and retries repeat steps. Each
transition therefore names the states it may come from; an UPDATE that finds the task
elsewhere changes nothing, so a task never goes back and a terminal state is final.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.models.poller import PollerTask
from activities.poller.contracts import (
    ENQUEUED,
    FAILED,
    PAYLOAD_SAVED,
    PENDING,
    STARTED,
    SUCCEEDED,
    TASK_STATES,
    TERMINAL_STATES,
)

_BEFORE = {
    STARTED: (PENDING, STARTED),
    PAYLOAD_SAVED: (PENDING, STARTED),
    ENQUEUED: (PENDING, STARTED, PAYLOAD_SAVED),
    SUCCEEDED: (PENDING, STARTED, PAYLOAD_SAVED, ENQUEUED),
    FAILED: (PENDING, STARTED, PAYLOAD_SAVED, ENQUEUED),
}
"""The states each state may be entered from."""


async def advance(connection: AsyncConnection, job_id: str, task_id: str, to: str, **values: Any) -> bool:
    """Move the task to ``to`` (with ``values``) if it is in an earlier state; True if it moved."""
    result = await connection.execute(
        update(PollerTask)
        .where(
            PollerTask.job_id == job_id,
            PollerTask.task_id == task_id,
            PollerTask.status.in_(_BEFORE[to]),
        )
        .values(status=to, updated_at=func.now(), **values)
    )
    return bool(result.rowcount)


async def counts(connection: AsyncConnection, job_id: str) -> dict[str, int]:
    """Tasks per state (every state named, zeros included) and ``Total``: the article's answer."""
    rows = await connection.execute(
        select(PollerTask.status, func.count()).where(PollerTask.job_id == job_id).group_by(PollerTask.status)
    )
    found = {status: count for status, count in rows.all()}
    answer = {state: int(found.get(state, 0)) for state in TASK_STATES}
    answer["Total"] = sum(answer.values())
    return answer


def unfinished(answer: dict[str, int]) -> int:
    """Tasks not in a terminal state."""
    return answer["Total"] - sum(answer[state] for state in TERMINAL_STATES)
