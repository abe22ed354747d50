"""Name-matched mock activities of the B2B pipeline, for workflow-logic tests and recordings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.b2b.contracts import (
    BATCH_ACTIVITIES,
    DISPATCH_CHUNK,
    ENRICH_TRANSACTION,
    FAIL_BATCH,
    FORMAT_TRANSACTION,
    REGISTER_BATCH,
    REPORT_BATCH,
    SETTLE_TRANSACTION,
    SPLIT_BATCH,
    STORE_TRANSACTION,
    TRANSACTION_ACTIVITIES,
    BatchFailure,
    BatchFile,
    BatchReport,
    ChunkOutcome,
    ChunkRef,
    EnrichedTransaction,
    FormattedTransaction,
    ReportInput,
    Settlement,
    SettlementResult,
    SplitResult,
    StoredTransaction,
    TransactionInput,
)
from activities.b2b.records import parse_note
from tests.support.mocks import covering, mock_activity


@dataclass
class MockTransactionSteps:
    """Transaction steps that succeed, or raise the error given for a step."""

    failures: dict[str, ApplicationError] = field(default_factory=dict)

    def activities(self) -> list[Callable[..., Any]]:
        return covering(
            TRANSACTION_ACTIVITIES,
            [self.format_transaction, self.enrich_transaction, self.store_transaction, self.settle_transaction],
        )

    def _fail(self, step: str) -> None:
        if step in self.failures:
            raise self.failures[step]

    @mock_activity(FORMAT_TRANSACTION)
    async def format_transaction(self, request: TransactionInput) -> FormattedTransaction:
        self._fail("format")
        users = parse_note(request.message)
        if users is None:
            raise ApplicationError("malformed note", type="MalformedTransaction", non_retryable=True)
        return FormattedTransaction(request.partner_id, request.transaction_id, users[0], users[1], request.source)

    @mock_activity(ENRICH_TRANSACTION)
    async def enrich_transaction(self, transaction: FormattedTransaction) -> EnrichedTransaction:
        self._fail("enrich")
        return EnrichedTransaction(transaction, {"riskScore": 0.5})

    @mock_activity(STORE_TRANSACTION)
    async def store_transaction(self, enriched: EnrichedTransaction) -> StoredTransaction:
        self._fail("store")
        return StoredTransaction("b2b-transactions", f"{enriched.transaction.partner_id}#x", False)

    @mock_activity(SETTLE_TRANSACTION)
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
        return covering(
            BATCH_ACTIVITIES,
            [self.register_batch, self.split_batch, self.dispatch_chunk, self.report_batch, self.fail_batch],
        )

    @mock_activity(REGISTER_BATCH)
    async def register_batch(self, file: BatchFile) -> None:
        return None

    @mock_activity(SPLIT_BATCH)
    async def split_batch(self, file: BatchFile) -> SplitResult:
        if self.rejected:
            return SplitResult(0, 0, 0, 0, 0, self.rejected, f"{self.rejected}: rejected", "b2b-quarantine/x")
        records = self.chunks * file.chunk_size
        return SplitResult(records, records, 0, 0, self.chunks)

    @mock_activity(DISPATCH_CHUNK)
    async def dispatch_chunk(self, chunk: ChunkRef) -> ChunkOutcome:
        if self.dispatch_error is not None and chunk.index == 1:
            raise self.dispatch_error
        self.dispatched.append(chunk.index)
        return ChunkOutcome(started=chunk.file.chunk_size, already_received=0, conflicts=0)

    @mock_activity(REPORT_BATCH)
    async def report_batch(self, request: ReportInput) -> BatchReport:
        split, file = request.split, request.file
        status = "QUARANTINED" if split.rejected_code else "COMPLETED"
        stored = len(self.dispatched) * file.chunk_size
        return BatchReport(
            file.batch_id, file.partner_id, status, split.records, split.accepted, 0, 0, 0, 0, stored, 0, 0,
            None, split.rejected_reason,
        )  # fmt: skip

    @mock_activity(FAIL_BATCH)
    async def fail_batch(self, failure: BatchFailure) -> None:
        self.failures.append(failure)
