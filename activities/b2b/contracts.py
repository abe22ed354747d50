"""The B2B pipeline's contracts (DESIGN §5.4): transactions and batches, their workflows'
inputs and results, every activity's input and output, and the error types.

Plain data only, so the workflows can import it without any I/O library.
"""

from dataclasses import dataclass, field
from typing import Any

from activities.common.contracts import ActivityRef

PIPELINE = "b2b"

# --- Error types ----------------------------------------------------------------------

MALFORMED_TRANSACTION = "MalformedTransaction"
"""The note does not name two users: the transaction is quarantined."""
ENRICHMENT_REJECTED = "EnrichmentRejected"
"""The enrichment API refused the transaction (4xx, an unknown user): quarantined."""
REJECTING_ERRORS = (MALFORMED_TRANSACTION, ENRICHMENT_REJECTED)
"""Errors that mean the transaction's content is at fault: it is quarantined, not failed."""
TRANSACTION_FAILED = "TransactionFailed"
"""A transaction that could not be stored for another reason (the workflow fails with it)."""
BATCH_FAILED = "BatchFailed"
"""A batch stopped by a step's failure or an operator's abort."""


# --- One transaction (B2BTransactionWorkflow) --------------------------------------------


@dataclass(frozen=True)
class TransactionInput:
    """One transaction to process: the input of ``B2BTransactionWorkflow``."""

    partner_id: str
    """The partner that submitted it."""
    transaction_id: str
    """The partner's TransactionID (unique per partner)."""
    message: str
    """The note, e.g. "Transaction made between user 57 and user 732."."""
    source: str = "realtime"
    """``realtime`` (HTTP) or ``batch`` (file)."""
    batch_id: str | None = None
    """The batch it came in, if any."""
    from_user_id: str | None = None
    """Set, with ``to_user_id``, when admission already formatted the note: the workflow
    then has no format step to run (inputs from before admission formatted have neither)."""
    to_user_id: str | None = None
    """Second user named in the note, when admission formatted it."""

    def formatted(self) -> "FormattedTransaction | None":
        """The transaction as admission formatted it, or None if it still needs formatting."""
        if self.from_user_id is None or self.to_user_id is None:
            return None
        return FormattedTransaction(
            self.partner_id, self.transaction_id, self.from_user_id, self.to_user_id, self.source, self.batch_id
        )


@dataclass(frozen=True)
class FormattedTransaction:
    """A transaction whose note was turned into the two user ids."""

    partner_id: str
    transaction_id: str
    from_user_id: str
    """First user named in the note."""
    to_user_id: str
    """Second user named in the note."""
    source: str = "realtime"
    batch_id: str | None = None


ENRICHMENT_SKIPPED = "enrichmentSkipped"
"""Key in ``EnrichedTransaction.enrichment`` of a transaction stored without enrichment (operator's skip)."""


@dataclass(frozen=True)
class EnrichedTransaction:
    """A formatted transaction with what the enrichment API added."""

    transaction: FormattedTransaction
    enrichment: dict[str, Any] = field(default_factory=dict)
    """The enrichment API's answer (users' tiers and regions, risk score)."""


@dataclass(frozen=True)
class StoredTransaction:
    """Where the transaction was stored."""

    table: str
    """DynamoDB table."""
    key: str
    """Its ``transactionKey``."""
    already_stored: bool
    """True when an earlier attempt had stored it (the conditional put found it)."""


@dataclass(frozen=True)
class Settlement:
    """A transaction that ends without being stored, and why."""

    partner_id: str
    transaction_id: str
    status: str
    """QUARANTINED (its content was rejected) or FAILED (a dependency never answered)."""
    reason: str
    """Readable reason, kept with the transaction."""


@dataclass(frozen=True)
class SettlementResult:
    """Whether the settlement changed anything (False on a repeated call)."""

    recorded: bool


@dataclass(frozen=True)
class TransactionResult:
    """How a transaction ended."""

    partner_id: str
    transaction_id: str
    status: str
    """STORED or QUARANTINED (a FAILED transaction fails the workflow)."""
    from_user_id: str | None = None
    to_user_id: str | None = None
    reason: str | None = None
    """Why it was quarantined."""


# --- One partner file (B2BBatchWorkflow) ---------------------------------------------------


@dataclass(frozen=True)
class BatchFile:
    """One partner file in S3: what the batch workflow is started with."""

    partner_id: str
    """The partner whose folder the file landed in."""
    batch_id: str
    """``batch_id_for(partner, key, etag)``."""
    bucket: str
    key: str
    etag: str
    chunk_size: int = 500
    """Records per chunk object."""
    max_in_flight: int = 50
    """Transaction workflows kept running at once."""


@dataclass(frozen=True)
class SplitResult:
    """What the split found; chunk contents stay in S3."""

    records: int
    """Records in the file (valid or not)."""
    accepted: int
    """Valid records with a TransactionID not seen before in the file."""
    duplicates: int
    """Records repeating a TransactionID of the file (quarantined)."""
    invalid: int
    """Other invalid records (quarantined)."""
    chunks: int
    """Chunk objects written, numbered from 0."""
    rejected_code: str | None = None
    """Set when the whole file was quarantined: the reason code (``dtd``, ``not-well-formed``...)."""
    rejected_reason: str | None = None
    """Readable reason for a quarantined file."""
    quarantine_key: str | None = None
    """Where the quarantined file was copied."""


@dataclass(frozen=True)
class ChunkRef:
    """One chunk of a batch to dispatch."""

    file: BatchFile
    index: int


@dataclass(frozen=True)
class ChunkOutcome:
    """What dispatching a chunk did (final statuses are read from Postgres by the report)."""

    started: int
    """Transaction workflows this batch ran for the chunk."""
    already_received: int
    """Records whose TransactionID had already been submitted with the same content."""
    conflicts: int
    """Records whose TransactionID had been used with different content (quarantined)."""


@dataclass(frozen=True)
class ReportInput:
    """Everything the report needs besides what Postgres holds."""

    file: BatchFile
    split: SplitResult
    already_received: int
    conflicts: int


@dataclass(frozen=True)
class BatchReport:
    """The batch's outcome, as written to Postgres and S3."""

    batch_id: str
    partner_id: str
    status: str
    """COMPLETED or QUARANTINED."""
    records: int
    accepted: int
    duplicates: int
    invalid: int
    already_received: int
    conflicts: int
    stored: int
    """Transactions of this batch now STORED."""
    quarantined: int
    """Transactions of this batch whose content was rejected after acceptance."""
    failed: int
    """Transactions of this batch that failed (a dependency never answered)."""
    report_key: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BatchFailure:
    """A batch that stopped because a step exhausted its retries."""

    batch_id: str
    step: str
    """The step that failed (``split``, ``dispatch-3``...)."""
    reason: str
    """Readable reason, kept on the batch row."""


@dataclass(frozen=True)
class BatchProgress:
    """What a batch carries across continue-as-new."""

    split: SplitResult
    """The split's result (chunk count and record counts)."""
    next_chunk: int = 0
    """First chunk not dispatched yet."""
    already_received: int = 0
    """Records so far whose TransactionID had been submitted before with the same content."""
    conflicts: int = 0
    """Records so far whose TransactionID had been used with different content."""


@dataclass(frozen=True)
class BatchRun:
    """The input of ``B2BBatchWorkflow``."""

    file: BatchFile
    """The partner file to process."""
    progress: BatchProgress | None = None
    """Set when continuing as new: the split is done and chunks before ``next_chunk`` are too."""
    history_budget: int = 8000
    """History length after which the workflow continues as new."""


# --- Activities: registered name, input, output ----------------------------------------

FORMAT_TRANSACTION = ActivityRef("b2b_format_transaction", TransactionInput, FormattedTransaction)
"""Turn the note into two user ids and record FORMATTED."""
ENRICH_TRANSACTION = ActivityRef("b2b_enrich_transaction", FormattedTransaction, EnrichedTransaction)
"""Call the partner enrichment API."""
STORE_TRANSACTION = ActivityRef("b2b_store_transaction", EnrichedTransaction, StoredTransaction)
"""Conditional DynamoDB put, STORED in Postgres."""
SETTLE_TRANSACTION = ActivityRef("b2b_settle_transaction", Settlement, SettlementResult)
"""Record a transaction that ends unstored (QUARANTINED or FAILED), and the DLQ story when FAILED."""
REGISTER_BATCH = ActivityRef("b2b_register_batch", BatchFile, type(None))
"""The batch row."""
SPLIT_BATCH = ActivityRef("b2b_split_batch", BatchFile, SplitResult)
"""Stream the file, validate every record, write chunks to S3."""
DISPATCH_CHUNK = ActivityRef("b2b_dispatch_chunk", ChunkRef, ChunkOutcome)
"""Run one chunk's transaction workflows and wait for them."""
REPORT_BATCH = ActivityRef("b2b_report_batch", ReportInput, BatchReport)
"""Count outcomes, write the report."""
FAIL_BATCH = ActivityRef("b2b_fail_batch", BatchFailure, type(None))
"""The batch row FAILED with the step and reason, and the DLQ story."""

TRANSACTION_ACTIVITIES = (FORMAT_TRANSACTION, ENRICH_TRANSACTION, STORE_TRANSACTION, SETTLE_TRANSACTION)
"""The activities of ``B2BTransactionWorkflow``."""
BATCH_ACTIVITIES = (REGISTER_BATCH, SPLIT_BATCH, DISPATCH_CHUNK, REPORT_BATCH, FAIL_BATCH)
"""The activities of ``B2BBatchWorkflow``."""
ACTIVITIES = TRANSACTION_ACTIVITIES + BATCH_ACTIVITIES
"""Every activity of the pipeline (the worker's catalog registers exactly these)."""
