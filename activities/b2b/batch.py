"""B2B batch steps: register a partner file, split it into chunks, dispatch them, report.

The file is streamed from S3 through :mod:`activities.b2b.xml_file` and never held whole:
valid records go to chunk objects of ``chunk_size`` records under a deterministic key,
so the batch workflow carries only a chunk count in its history. Invalid records are
quarantined as they are met (an S3 object per group, a Postgres row each). A file that
turns out to be unusable is quarantined whole: copied under the quarantine prefix,
one Postgres row with the reason, and whatever the split had written is removed.

Dispatch admits a chunk's records in Postgres, then starts one ``B2BTransactionWorkflow``
per new record, keeping at most ``max_in_flight`` running, and waits for them: that
wait is what bounds concurrency. A retried dispatch re-attaches to the workflows that
already exist (the workflow id is the business key) and skips finished ones.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.b2b.contracts import (
    DISPATCH_CHUNK,
    FAIL_BATCH,
    REGISTER_BATCH,
    REPORT_BATCH,
    SPLIT_BATCH,
    BatchFailure,
    BatchFile,
    BatchReport,
    ChunkOutcome,
    ChunkRef,
    ReportInput,
    SplitResult,
    TransactionInput,
)
from activities.b2b.records import (
    FINAL_STATUSES,
    Admission,
    Submission,
    admit,
    quarantine,
    transaction_workflow_id,
)
from activities.b2b.split import Splitter, batch_workflow_id, chunk_key, quarantine_prefix, read_piece, report_key
from activities.b2b.transaction import send_dead_letter
from activities.b2b.xml_file import FileRejected, TransactionFileParser
from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.models.b2b import B2BBatch, B2BQuarantine, B2BTransaction

REPORT_REJECTED_LIMIT = 10_000
HEARTBEAT_SECONDS = 5.0


class B2BBatchActivities:
    """The batch steps, bound to the worker's clients."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources, client: Client) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._client = client

    @activity.defn(name=REGISTER_BATCH.name)
    async def register_batch(self, file: BatchFile) -> None:
        """Create the batch row (RECEIVED) if it does not exist."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert(B2BBatch)
                .values(
                    batch_id=file.batch_id,
                    partner_id=file.partner_id,
                    workflow_id=batch_workflow_id(file.partner_id, file.batch_id),
                    bucket=file.bucket,
                    object_key=file.key,
                    etag=file.etag,
                    status="RECEIVED",
                )
                .on_conflict_do_nothing()
            )

    @activity.defn(name=SPLIT_BATCH.name)
    async def split_batch(self, file: BatchFile) -> SplitResult:
        """Stream and validate the file, writing chunks and quarantining bad records as it goes."""
        splitter = Splitter(self._aws, self._sessions, file)
        response = await self._aws.call("s3", "get_object", Bucket=file.bucket, Key=file.key)
        body = response["Body"]
        parser = TransactionFileParser()
        try:
            while data := await read_piece(body):
                await splitter.take(parser.feed(data))
                activity.heartbeat(parser.records_seen)
            await splitter.take(parser.close())
            result = await splitter.finish()
        except FileRejected as rejected:
            return await self._quarantine_file(file, splitter, rejected)
        finally:
            body.close()
        async with self._sessions.begin() as session:
            await session.execute(
                update(B2BBatch)
                .where(B2BBatch.batch_id == file.batch_id)
                .values(
                    status="SPLIT",
                    record_count=result.records,
                    accepted_count=result.accepted,
                    duplicate_count=result.duplicates,
                    invalid_count=result.invalid,
                )
            )
        return result

    async def _quarantine_file(self, file: BatchFile, splitter: Splitter, rejected: FileRejected) -> SplitResult:
        target = quarantine_prefix(file.partner_id, file.batch_id) + "file/" + posixpath.basename(file.key)
        await self._aws.call(
            "s3", "copy_object", Bucket=file.bucket, Key=target, CopySource={"Bucket": file.bucket, "Key": file.key}
        )
        for key in splitter.written:
            await self._aws.call("s3", "delete_object", Bucket=file.bucket, Key=key)
        reason = f"{rejected.code}: {rejected.message}"
        async with self._sessions.begin() as session:
            await session.execute(delete(B2BQuarantine).where(B2BQuarantine.batch_id == file.batch_id))
            await quarantine(
                session,
                [
                    {
                        "quarantine_id": f"file:{file.batch_id}",
                        "partner_id": file.partner_id,
                        "batch_id": file.batch_id,
                        "scope": "file",
                        "reason": reason,
                        "s3_key": target,
                    }
                ],
            )
            await session.execute(
                update(B2BBatch)
                .where(B2BBatch.batch_id == file.batch_id)
                .values(status="QUARANTINED", reason=reason, quarantine_key=target)
            )
        return SplitResult(0, 0, 0, 0, 0, rejected.code, reason, target)

    @activity.defn(name=DISPATCH_CHUNK.name)
    async def dispatch_chunk(self, chunk: ChunkRef) -> ChunkOutcome:
        """Admit a chunk's records and run their transaction workflows, ``max_in_flight`` at a time."""
        file = chunk.file
        key = chunk_key(file.partner_id, file.batch_id, chunk.index)
        lines = (await self._aws.read_object(file.bucket, key)).decode().splitlines()
        records = [json.loads(line) for line in lines if line]
        submissions = [Submission(file.partner_id, r["id"], r["notes"], "batch", file.batch_id) for r in records]
        async with self._sessions.begin() as session:
            admissions = await admit(session, submissions)
            conflicts = [
                (r, s) for r, s, a in zip(records, submissions, admissions, strict=True) if a.verdict == "conflict"
            ]
            await quarantine(session, [_conflict_row(file, r) for r, _ in conflicts])
        mine = [
            transaction_input(s, a)
            for s, a in zip(submissions, admissions, strict=True)
            if a.verdict == "new"
            or (a.verdict == "same" and a.batch_id == file.batch_id and a.status not in FINAL_STATUSES)
        ]
        foreign = sum(1 for a in admissions if a.verdict == "same" and a.batch_id != file.batch_id)
        await self._run_all(mine, file.max_in_flight)
        return ChunkOutcome(started=len(mine), already_received=foreign, conflicts=len(conflicts))

    async def _run_all(self, requests: Sequence[TransactionInput], max_in_flight: int) -> None:
        slots = asyncio.Semaphore(max_in_flight)
        task_queue = activity.info().task_queue
        done = 0

        async def run(request: TransactionInput) -> None:
            nonlocal done
            async with slots:
                await run_transaction(self._client, request, task_queue)
                done += 1

        async def heartbeat() -> None:
            # Waiting on slow transactions is still progress: keep telling the server we are alive.
            while True:
                activity.heartbeat(done)
                await asyncio.sleep(HEARTBEAT_SECONDS)

        beating = asyncio.create_task(heartbeat())
        try:
            await asyncio.gather(*(run(r) for r in requests))
        finally:
            beating.cancel()

    @activity.defn(name=REPORT_BATCH.name)
    async def report_batch(self, request: ReportInput) -> BatchReport:
        """Count outcomes in Postgres, write the report to S3 and close the batch row."""
        file, split = request.file, request.split
        async with self._sessions() as session:
            grouped = await session.execute(
                select(B2BTransaction.status, func.count())
                .where(B2BTransaction.batch_id == file.batch_id)
                .group_by(B2BTransaction.status)
            )
            counts: dict[str, int] = {status: count for status, count in grouped}
            rejected = await _rejected_records(session, file.batch_id)
        status = "QUARANTINED" if split.rejected_code else "COMPLETED"
        key = report_key(file.partner_id, file.batch_id)
        report = BatchReport(
            file.batch_id,
            file.partner_id,
            status,
            split.records,
            split.accepted,
            split.duplicates,
            split.invalid,
            request.already_received,
            request.conflicts,
            counts.get("STORED", 0),
            counts.get("QUARANTINED", 0),
            counts.get("FAILED", 0),
            key,
            split.rejected_reason,
        )
        document = {
            **asdict(report),
            "object": f"s3://{file.bucket}/{file.key}",
            "rejected": rejected[:REPORT_REJECTED_LIMIT],
            "rejected_truncated": len(rejected) > REPORT_REJECTED_LIMIT,
        }
        body = json.dumps(document, indent=1, default=str).encode()
        await self._aws.call("s3", "put_object", Bucket=file.bucket, Key=key, Body=body)
        async with self._sessions.begin() as session:
            await session.execute(
                update(B2BBatch)
                .where(B2BBatch.batch_id == file.batch_id)
                .values(status=status, report_key=key, report=asdict(report))
            )
        return report

    @activity.defn(name=FAIL_BATCH.name)
    async def fail_batch(self, failure: BatchFailure) -> None:
        """Mark the batch FAILED with the step and reason and send it to ``b2b-dlq`` (once per run).

        Its transactions keep their own outcomes.
        """
        async with self._sessions() as session:
            row = await session.get(B2BBatch, failure.batch_id)
        if row is not None and row.status != "FAILED":
            story = {"kind": "batch", "partner_id": row.partner_id, "object_key": row.object_key, **asdict(failure)}
            notifier = Notifier(self._aws, self._sessions)
            await send_dead_letter(notifier, self._resources.b2b_dlq, f"batch:{failure.batch_id}", story)
        async with self._sessions.begin() as session:
            await session.execute(
                update(B2BBatch)
                .where(B2BBatch.batch_id == failure.batch_id)
                .values(status="FAILED", reason=f"{failure.step}: {failure.reason}")
            )


def transaction_input(submission: Submission, admission: Admission) -> TransactionInput:
    """The workflow's input: the submission, with the user ids when admission formatted it."""
    users = admission.users or (None, None)
    return TransactionInput(
        submission.partner_id,
        submission.transaction_id,
        submission.message,
        submission.source,
        submission.batch_id,
        from_user_id=users[0],
        to_user_id=users[1],
    )


async def start_transaction(
    client: Client, request: TransactionInput, task_queue: str
) -> WorkflowHandle[Any, Any] | None:
    """Start the transaction's workflow, or attach to it if running; None if it already closed."""
    try:
        return await client.start_workflow(
            "B2BTransactionWorkflow",
            request,
            id=transaction_workflow_id(request.partner_id, request.transaction_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=transaction_search_attributes(request.partner_id, request.transaction_id),
        )
    except WorkflowAlreadyStartedError:
        return None  # it ran to completion before: its outcome is in Postgres


async def run_transaction(client: Client, request: TransactionInput, task_queue: str) -> None:
    """Start (or re-attach to) a transaction's workflow and wait until it closes."""
    handle = await start_transaction(client, request, task_queue)
    if handle is None:
        return
    try:
        await handle.result()
    except Exception as error:  # its failure is recorded in Postgres by the workflow itself
        activity.logger.info("transaction %s ended with %s", handle.id, type(error).__name__)


def transaction_search_attributes(partner_id: str, transaction_id: str) -> TypedSearchAttributes:
    """How operators find a transaction's execution."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.PIPELINE, "b2b"),
            SearchAttributePair(search_attributes.BUSINESS_KEY, f"{partner_id}/{transaction_id}"),
        ]
    )


def _conflict_row(file: BatchFile, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "quarantine_id": f"conflict:{file.batch_id}:{record['i']}",
        "partner_id": file.partner_id,
        "batch_id": file.batch_id,
        "transaction_id": record["id"],
        "scope": "record",
        "record_index": record["i"],
        "reason": "TransactionID already submitted with different content",
        "content": record["notes"],
    }


async def _rejected_records(session: Any, batch_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(B2BQuarantine.record_index, B2BQuarantine.transaction_id, B2BQuarantine.scope, B2BQuarantine.reason)
        .where(B2BQuarantine.batch_id == batch_id)
        .order_by(B2BQuarantine.record_index.nulls_last(), B2BQuarantine.transaction_id)
        .limit(REPORT_REJECTED_LIMIT + 1)
    )
    return [
        {"index": r.record_index, "transaction_id": r.transaction_id, "scope": r.scope, "reason": r.reason}
        for r in rows
    ]
