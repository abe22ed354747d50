"""Splitting a partner file: S3 keys of a batch, and the chunk writer behind the split step.

Valid records are grouped into JSON-lines chunk objects of ``chunk_size`` records under
deterministic keys (a retried split rewrites the same objects); rejected records are
grouped the same way under the batch's quarantine prefix, each with a Postgres row.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from activities.b2b.contracts import BatchFile, SplitResult
from activities.b2b.records import quarantine
from activities.b2b.xml_file import ParsedRecord
from activities.common.aws import AwsClients, classify_aws_error
from activities.common.db import SessionMaker

READ_SIZE = 256 * 1024
INBOUND_PREFIX = "b2b-inbound/"


def batch_id_for(partner_id: str, key: str, etag: str) -> str:
    """The batch id of one object version: partner + key + ETag, so a redelivered event maps to it."""
    return hashlib.sha256(f"{partner_id}\n{key}\n{etag.strip(chr(34))}".encode()).hexdigest()[:24]


def batch_workflow_id(partner_id: str, batch_id: str) -> str:
    """The batch workflow's id."""
    return f"b2b-batch-{partner_id}-{batch_id}"


def chunk_key(partner_id: str, batch_id: str, index: int) -> str:
    """Where chunk ``index`` of a batch is written (deterministic, so a retried split rewrites it)."""
    return f"b2b-work/{partner_id}/{batch_id}/chunk-{index:05d}.jsonl"


def quarantine_prefix(partner_id: str, batch_id: str) -> str:
    """Where a batch's rejected input is kept."""
    return f"b2b-quarantine/{partner_id}/{batch_id}/"


def report_key(partner_id: str, batch_id: str) -> str:
    """Where a batch's report is written."""
    return f"b2b-reports/{partner_id}/{batch_id}.json"


async def read_piece(body: Any) -> bytes:
    """The next piece of an S3 body, read on a thread, errors mapped like any AWS call."""
    try:
        data: bytes = await asyncio.to_thread(body.read, READ_SIZE)
    except Exception as error:
        raise classify_aws_error(error, service="s3", operation="GetObject") from error
    return data


class Splitter:
    """Groups parsed records into chunk objects and quarantine writes."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, file: BatchFile) -> None:
        self._aws = aws
        self._sessions = sessions
        self._file = file
        self._valid: list[bytes] = []
        self._rejected: list[ParsedRecord] = []
        self.written: list[str] = []
        self.records = self.accepted = self.duplicates = self.invalid = 0
        self.chunks = 0
        self._reject_groups = 0

    async def take(self, records: list[ParsedRecord]) -> None:
        """Sort parsed records into the chunk and the quarantine groups, writing full groups."""
        for record in records:
            self.records += 1
            if record.problem is None:
                self.accepted += 1
                line = {"i": record.index, "id": record.transaction_id, "notes": record.notes}
                self._valid.append(json.dumps(line).encode())
            else:
                self.duplicates += record.duplicate
                self.invalid += not record.duplicate
                self._rejected.append(record)
        if len(self._valid) >= self._file.chunk_size:
            await self._flush_valid()
        if len(self._rejected) >= self._file.chunk_size:
            await self._flush_rejected()

    async def finish(self) -> SplitResult:
        """Write what is left; the file ended well."""
        await self._flush_valid(final=True)
        await self._flush_rejected()
        return SplitResult(self.records, self.accepted, self.duplicates, self.invalid, self.chunks)

    async def _flush_valid(self, *, final: bool = False) -> None:
        size = self._file.chunk_size
        while len(self._valid) >= size or (final and self._valid):
            lines, self._valid = self._valid[:size], self._valid[size:]
            key = chunk_key(self._file.partner_id, self._file.batch_id, self.chunks)
            await self._put(key, b"\n".join(lines) + b"\n")
            self.chunks += 1

    async def _flush_rejected(self) -> None:
        if not self._rejected:
            return
        records, self._rejected = self._rejected, []
        file = self._file
        key = f"{quarantine_prefix(file.partner_id, file.batch_id)}records-{self._reject_groups:05d}.jsonl"
        self._reject_groups += 1
        lines = [
            json.dumps({"i": r.index, "id": r.transaction_id, "notes": r.notes, "reason": r.problem}) for r in records
        ]
        await self._put(key, ("\n".join(lines) + "\n").encode())
        rows = [
            {
                "quarantine_id": f"record:{file.batch_id}:{r.index}",
                "partner_id": file.partner_id,
                "batch_id": file.batch_id,
                "transaction_id": r.transaction_id,
                "scope": "record",
                "record_index": r.index,
                "reason": r.problem,
                "content": r.notes,
                "s3_key": key,
            }
            for r in records
        ]
        async with self._sessions.begin() as session:
            await quarantine(session, rows)

    async def _put(self, key: str, body: bytes) -> None:
        await self._aws.call("s3", "put_object", Bucket=self._file.bucket, Key=key, Body=body)
        self.written.append(key)
