"""B2B operations shared by the API and the CLI: submit a transaction, upload a file, read status.

Reads come from Postgres, the system of record for transactions and batches; starting a
transaction goes through admission first, so the same TransactionID with the same
content is one transaction and with different content is a :class:`TransactionConflict`.
"""

from __future__ import annotations

import datetime
import posixpath
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.client import Client

from activities.b2b.batch import start_transaction, transaction_input
from activities.b2b.records import FINAL_STATUSES, Admission, Submission, admit
from activities.b2b.split import INBOUND_PREFIX, batch_id_for
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.b2b import B2BBatch, B2BQuarantine, B2BTransaction

REJECTED_SHOWN = 100


class TransactionConflict(Exception):
    """The TransactionID was already submitted with different content."""


@dataclass(frozen=True)
class TransactionView:
    """A transaction as partners and operators see it."""

    partner_id: str
    transaction_id: str
    status: str
    """RECEIVED, FORMATTED, ENRICHED, STORED, QUARANTINED or FAILED."""
    source: str
    batch_id: str | None
    from_user_id: str | None
    to_user_id: str | None
    enrichment: dict[str, Any] | None
    reason: str | None
    """Why it was quarantined or failed."""
    history: list[dict[str, Any]]
    """Status trail: ``{"status", "at"}`` in order."""
    workflow_id: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class BatchView:
    """A batch file's state and, once done, its report."""

    partner_id: str
    batch_id: str
    status: str
    """RECEIVED, SPLIT, COMPLETED or QUARANTINED."""
    object_key: str
    records: int
    accepted: int
    duplicates: int
    invalid: int
    reason: str | None
    """Why the whole file was quarantined."""
    quarantine_key: str | None
    report_key: str | None
    report: dict[str, Any] | None
    workflow_id: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """The first rejected records: index, TransactionID, reason."""


@dataclass(frozen=True)
class Uploaded:
    """A file put where the intake picks it up."""

    bucket: str
    key: str
    etag: str
    batch_id: str


async def submit_transaction(
    client: Client, sessions: SessionMaker, task_queue: str, submission: Submission
) -> Admission:
    """Admit a real-time transaction and make sure its workflow runs (unless already finished)."""
    async with sessions.begin() as session:
        (admission,) = await admit(session, [submission])
    if admission.verdict == "conflict":
        raise TransactionConflict(f"transaction {submission.transaction_id} already exists with different content")
    if admission.status not in FINAL_STATUSES:
        if admission.batch_id is not None:  # received in a file first: run it as that batch's record
            submission = replace(submission, source="batch", batch_id=admission.batch_id)
        await start_transaction(client, transaction_input(submission, admission), task_queue)
    return admission


async def get_transaction(sessions: SessionMaker, partner_id: str, transaction_id: str) -> TransactionView | None:
    """The transaction, or None."""
    async with sessions() as session:
        row = await session.get(B2BTransaction, (partner_id, transaction_id))
    if row is None:
        return None
    return TransactionView(
        row.partner_id,
        row.transaction_id,
        row.status,
        row.source,
        row.batch_id,
        row.from_user_id,
        row.to_user_id,
        row.enrichment,
        row.reason,
        list(row.history),
        row.workflow_id,
        row.created_at,
        row.updated_at,
    )


async def get_batch(sessions: SessionMaker, partner_id: str, batch_id: str) -> BatchView | None:
    """The batch with its first rejected records, or None (also when it is another partner's)."""
    async with sessions() as session:
        row = await session.get(B2BBatch, batch_id)
        if row is None or row.partner_id != partner_id:
            return None
        rejected = await session.execute(
            select(B2BQuarantine.record_index, B2BQuarantine.transaction_id, B2BQuarantine.scope, B2BQuarantine.reason)
            .where(B2BQuarantine.batch_id == batch_id)
            .order_by(B2BQuarantine.record_index.nulls_first(), B2BQuarantine.transaction_id)
            .limit(REJECTED_SHOWN)
        )
    return BatchView(
        row.partner_id,
        row.batch_id,
        row.status,
        row.object_key,
        row.record_count,
        row.accepted_count,
        row.duplicate_count,
        row.invalid_count,
        row.reason,
        row.quarantine_key,
        row.report_key,
        row.report,
        row.workflow_id,
        row.created_at,
        row.updated_at,
        [
            {"index": r.record_index, "transaction_id": r.transaction_id, "scope": r.scope, "reason": r.reason}
            for r in rejected
        ],
    )


async def upload_file(
    aws: AwsClients, resources: Resources, partner_id: str, path: Path, name: str | None = None
) -> Uploaded:
    """Put a file under ``b2b-inbound/<partner>/`` (what an SFTP front door does in production)."""
    key = f"{INBOUND_PREFIX}{partner_id}/{name or posixpath.basename(path.name)}"
    with path.open("rb") as body:
        response = await aws.call("s3", "put_object", Bucket=resources.b2b_bucket, Key=key, Body=body)
    etag = str(response["ETag"]).strip('"')
    return Uploaded(resources.b2b_bucket, key, etag, batch_id_for(partner_id, key, etag))
