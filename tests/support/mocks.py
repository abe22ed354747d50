"""Stand-in activities for workflow-logic tests, declared from the pipelines' own activity lists.

A stand-in is registered under the real activity's name and typed by its
:class:`~activities.common.contracts.ActivityRef`, and :func:`covering` refuses a set of
stand-ins that misses one of the pipeline's activities: a renamed or added activity breaks
the mocks at once instead of leaving a test that no longer exercises the real names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from temporalio import activity

from activities.common.contracts import (
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    ActivityRef,
    AttentionNotice,
    DecisionAudit,
    NoticeSent,
)

In = TypeVar("In")
Out = TypeVar("Out")
F = TypeVar("F", bound=Callable[..., Any])


def mock_activity(
    ref: ActivityRef[In, Out],
) -> Callable[[Callable[[In], Awaitable[Out]]], Callable[[In], Awaitable[Out]]]:
    """Declare ``fn`` as the stand-in for ``ref`` (registered under ``ref.name``)."""

    def declare(fn: Callable[[In], Awaitable[Out]]) -> Callable[[In], Awaitable[Out]]:
        return activity.defn(name=ref.name)(fn)

    return declare


def activity_name(fn: Callable[..., Any]) -> str:
    """The registered name of an activity function or bound method."""
    definition = getattr(fn, "__temporal_activity_definition", None)
    assert definition is not None and definition.name is not None, f"{fn} is not an activity"
    return str(definition.name)


def covering(refs: Sequence[ActivityRef[Any, Any]], mocks: Sequence[F]) -> list[F]:
    """``mocks``, after checking they stand in for every activity in ``refs`` and nothing else."""
    wanted = {ref.name for ref in refs}
    have = [activity_name(mock) for mock in mocks]
    assert sorted(have) == sorted(wanted), f"stand-ins {sorted(have)} do not cover {sorted(wanted)}"
    return list(mocks)


def step_control_mocks(
    audits: list[DecisionAudit], notices: list[AttentionNotice]
) -> list[Callable[..., Awaitable[Any]]]:
    """Step control's own activities as a pipeline's mocks play them: each decision audit and each
    attention notice appended to the lists given (a notice answered as sent, never a duplicate)."""

    @mock_activity(RECORD_DECISION)
    async def record_decision(audit: DecisionAudit) -> None:
        audits.append(audit)

    @mock_activity(NOTIFY_ATTENTION)
    async def notify(notice: AttentionNotice) -> NoticeSent:
        notices.append(notice)
        return NoticeSent(message_id=f"m-{len(notices)}", duplicate=False)

    return [record_decision, notify]
