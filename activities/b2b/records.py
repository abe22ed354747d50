"""Postgres side of the B2B pipeline: admission, the status trail, quarantine rows.

Shared by the B2B activities and by the API (which admits real-time transactions before
starting their workflow). Every write here is idempotent: admission is an insert that
does nothing when the key exists, a status is appended only if the trail lacks it, and
quarantine rows have deterministic keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from activities.models.b2b import B2BQuarantine, B2BTransaction

FINAL_STATUSES = frozenset({"STORED", "QUARANTINED", "FAILED"})
PARTNER_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
"""As the settings' partner id: no ``-``, which ends the partner's part of a workflow id."""
RESERVED_PARTNER_IDS = frozenset({"batch"})
"""``b2b-batch-...`` are batch workflow ids: a partner ``batch`` would share their namespace."""
NOTE_PATTERN = re.compile(r"^Transaction made between user (\d{1,18}) and user (\d{1,18})\.?$")


def parse_note(note: str) -> tuple[str, str] | None:
    """The two user ids of "Transaction made between user 57 and user 732.", or None."""
    match = NOTE_PATTERN.match(note.strip())
    return (match.group(1), match.group(2)) if match else None


def valid_partner_id(partner_id: str) -> bool:
    """Partner ids are short lowercase slugs; ``batch`` is reserved (batch workflow ids)."""
    return bool(PARTNER_ID_PATTERN.match(partner_id)) and partner_id not in RESERVED_PARTNER_IDS


def transaction_workflow_id(partner_id: str, transaction_id: str) -> str:
    """The transaction's workflow id, which is its business key."""
    return f"b2b-{partner_id}-{transaction_id}"


def content_hash(message: str) -> str:
    """What makes two submissions of one TransactionID the same transaction."""
    return hashlib.sha256(message.strip().encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    """One transaction as a partner submitted it, before any processing."""

    partner_id: str
    """The submitting partner."""
    transaction_id: str
    """The partner's TransactionID."""
    message: str
    """The transaction's note, as received."""
    source: str = "realtime"
    """``realtime`` (HTTP) or ``batch`` (file)."""
    batch_id: str | None = None
    """The file it came in, for batch submissions."""


@dataclass(frozen=True)
class Admission:
    """What admission decided for one submission."""

    transaction_id: str
    verdict: str
    """``new`` (process it), ``same`` (already submitted with this content), ``conflict``
    (TransactionID already used with different content)."""
    status: str
    """The transaction's current status."""
    batch_id: str | None
    """The batch the existing transaction belongs to."""
    users: tuple[str, str] | None = None
    """The two user ids when the transaction is past RECEIVED (admission formats a
    well-formed note), so its workflow need not format it again; None otherwise."""


def _admitted_trail(formatted: bool) -> Any:
    received = func.jsonb_build_object("status", "RECEIVED", "at", func.now())
    if not formatted:
        return func.jsonb_build_array(received)
    return func.jsonb_build_array(received, func.jsonb_build_object("status", "FORMATTED", "at", func.now()))


ROWS_PER_STATEMENT = 1000
"""Rows per multi-row statement, well under Postgres's 32,767 bind parameters."""


async def admit(session: AsyncSession, submissions: Sequence[Submission]) -> list[Admission]:
    """Record new submissions (of one partner) and classify each against what exists.

    A new submission whose note is well formed is recorded RECEIVED then FORMATTED with its
    two user ids, in the same multi-row insert: the format step's work, done once per chunk
    instead of once per transaction in a step of its own. Any other note stays RECEIVED and
    its workflow's format step quarantines it with the reason.
    """
    admissions: list[Admission] = []
    for start in range(0, len(submissions), ROWS_PER_STATEMENT):
        admissions += await _admit_slice(session, submissions[start : start + ROWS_PER_STATEMENT])
    return admissions


async def _admit_slice(session: AsyncSession, submissions: Sequence[Submission]) -> list[Admission]:
    if not submissions:
        return []
    partner_id = submissions[0].partner_id
    users = [parse_note(s.message) for s in submissions]
    rows = [
        {
            "partner_id": s.partner_id,
            "transaction_id": s.transaction_id,
            "workflow_id": transaction_workflow_id(s.partner_id, s.transaction_id),
            "source": s.source,
            "batch_id": s.batch_id,
            "content_hash": content_hash(s.message),
            "message": s.message.strip(),
            "status": "RECEIVED" if ids is None else "FORMATTED",
            "from_user_id": None if ids is None else ids[0],
            "to_user_id": None if ids is None else ids[1],
            "history": _admitted_trail(ids is not None),
        }
        for s, ids in zip(submissions, users, strict=True)
    ]
    inserted = await session.execute(
        insert(B2BTransaction)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["partner_id", "transaction_id"])
        .returning(B2BTransaction.transaction_id)
    )
    new_ids = set(inserted.scalars())
    existing = await session.execute(
        select(
            B2BTransaction.transaction_id, B2BTransaction.content_hash, B2BTransaction.status, B2BTransaction.batch_id
        )
        .where(B2BTransaction.partner_id == partner_id)
        .where(B2BTransaction.transaction_id.in_([s.transaction_id for s in submissions]))
    )
    found = {row.transaction_id: row for row in existing}
    admissions = []
    for submission, ids in zip(submissions, users, strict=True):
        row = found[submission.transaction_id]
        if submission.transaction_id in new_ids:
            verdict = "new"
        elif row.content_hash != content_hash(submission.message):
            verdict = "conflict"
        else:
            verdict = "same"
        formatted = ids if verdict != "conflict" and row.status != "RECEIVED" else None
        admissions.append(Admission(submission.transaction_id, verdict, row.status, row.batch_id, formatted))
    return admissions


async def append_status(
    session: AsyncSession | AsyncConnection,
    partner_id: str,
    transaction_id: str,
    status: str,
    *,
    reason: str | None = None,
    **columns: Any,
) -> bool:
    """Move a transaction to ``status`` unless its trail already has it; True if it moved."""
    entry = func.jsonb_build_object("status", status, "at", func.now())
    values: dict[str, Any] = {
        "status": status,
        "history": B2BTransaction.history.op("||")(func.jsonb_build_array(entry)),
        **columns,
    }
    if reason is not None:
        values["reason"] = reason
    result = await session.execute(
        update(B2BTransaction)
        .where(B2BTransaction.partner_id == partner_id, B2BTransaction.transaction_id == transaction_id)
        .where(~B2BTransaction.history.contains([{"status": status}]))
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def quarantine(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert quarantine rows (``quarantine_id`` is deterministic, so re-inserting is a no-op)."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        piece = list(rows[start : start + ROWS_PER_STATEMENT])
        await session.execute(insert(B2BQuarantine).values(piece).on_conflict_do_nothing())
