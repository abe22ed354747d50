"""Name-matched mock activities of the B2B pipeline, for workflow-logic tests and recordings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.b2b import (
    EnrichedTransaction,
    FormattedTransaction,
    Settlement,
    SettlementResult,
    StoredTransaction,
    TransactionInput,
    parse_note,
)
from activities.b2b_batch import BatchFailure, BatchReport, ChunkOutcome, ChunkRef, ReportInput
from activities.b2b_split import BatchFile, SplitResult


@dataclass
class MockTransactionSteps:
    """Transaction steps that succeed, or raise the error given for a step."""

    failures: dict[str, ApplicationError] = field(default_factory=dict)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.format_transaction, self.enrich_transaction, self.store_transaction, self.settle_transaction]

    def _fail(self, step: str) -> None:
        if step in self.failures:
            raise self.failures[step]

    @activity.defn(name="b2b_format_transaction")
    async def format_transaction(self, request: TransactionInput) -> FormattedTransaction:
        self._fail("format")
        users = parse_note(request.message)
        if users is None:
            raise ApplicationError("malformed note", type="MalformedTransaction", non_retryable=True)
        return FormattedTransaction(request.partner_id, request.transaction_id, users[0], users[1], request.source)

    @activity.defn(name="b2b_enrich_transaction")
    async def enrich_transaction(self, transaction: FormattedTransaction) -> EnrichedTransaction:
        self._fail("enrich")
        return EnrichedTransaction(transaction, {"riskScore": 0.5})

    @activity.defn(name="b2b_store_transaction")
    async def store_transaction(self, enriched: EnrichedTransaction) -> StoredTransaction:
        self._fail("store")
        return StoredTransaction("b2b-transactions", f"{enriched.transaction.partner_id}#x", False)

    @activity.defn(name="b2b_settle_transaction")
    async def settle_transaction(self, settlement: Settlement) -> SettlementResult:
        return SettlementResult(True)


@dataclass
class MockBatchSteps:
    """Batch steps for a file of ``chunks`` chunks (or a file rejected with ``rejected``)."""

    chunks: int = 2
    rejected: str | None = None
    dispatch_error: ApplicationError | None = None
    dispatched: list[int] = field(default_factory=list)
    failures: list[BatchFailure] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.register_batch, self.split_batch, self.dispatch_chunk, self.report_batch, self.fail_batch]

    @activity.defn(name="b2b_register_batch")
    async def register_batch(self, file: BatchFile) -> None:
        return None

    @activity.defn(name="b2b_split_batch")
    async def split_batch(self, file: BatchFile) -> SplitResult:
        if self.rejected:
            return SplitResult(0, 0, 0, 0, 0, self.rejected, f"{self.rejected}: rejected", "b2b-quarantine/x")
        records = self.chunks * file.chunk_size
        return SplitResult(records, records, 0, 0, self.chunks)

    @activity.defn(name="b2b_dispatch_chunk")
    async def dispatch_chunk(self, chunk: ChunkRef) -> ChunkOutcome:
        if self.dispatch_error is not None and chunk.index == 1:
            raise self.dispatch_error
        self.dispatched.append(chunk.index)
        return ChunkOutcome(started=chunk.file.chunk_size, already_received=0, conflicts=0)

    @activity.defn(name="b2b_report_batch")
    async def report_batch(self, request: ReportInput) -> BatchReport:
        split, file = request.split, request.file
        status = "QUARANTINED" if split.rejected_code else "COMPLETED"
        stored = len(self.dispatched) * file.chunk_size
        return BatchReport(
            file.batch_id, file.partner_id, status, split.records, split.accepted, 0, 0, 0, 0, stored, 0, 0,
            None, split.rejected_reason,
        )  # fmt: skip

    @activity.defn(name="b2b_fail_batch")
    async def fail_batch(self, failure: BatchFailure) -> None:
        self.failures.append(failure)
