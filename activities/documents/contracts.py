"""Contracts of the shipment documents pipeline (DESIGN §5.7): ids, S3 layout, the arrival
signal, the workflow's input and output, every activity's input and output, and the error types.

A shipment's documents (an invoice and a customs authorisation form) arrive under
``documents-inbound/<shipment>/<type>.pdf``; the shipment's workflow (``shipment-<id>``)
waits for every required type, extracts each document's fields with Textract and
Comprehend, asks a reviewer about the fields it is not sure of, and consolidates one record.
Plain data only, so the workflow can import it without any I/O library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef, AttentionPolicy, FormField

PIPELINE = "documents"

SHIPMENT_PATTERN = r"^(?:[a-z0-9][a-z0-9_-]{0,39}\.)?[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""A shipment id: the freight forwarder's reference (``SHP-2026-0147``), which a partner's
upload places in its own namespace (``acme.SHP-2026-0147``: partner ids have no ``.``)."""
SHIPMENT_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""A shipment reference as a partner names it (no namespace)."""
DOCUMENT_TYPES = ("invoice", "customs")
"""The document types a shipment needs, in the order they are shown."""
DOCUMENT_EXTENSIONS = ("pdf",)
"""File extensions the intake takes (``<type>.<ext>``); anything else is refused with a reason."""

INBOUND_PREFIX = "documents-inbound/"
"""Where documents arrive: ``documents-inbound/<shipment>/<type>.<ext>``."""
RAW_PREFIX = "raw/"
"""The article's raw layer: ``raw/<shipment>/<type>/<etag>.pdf``, an immutable copy of what was processed."""
STAGING_PREFIX = "staging/"
"""Extraction outputs: ``staging/<shipment>/<type>/<etag>/``.

textract.json, text.txt, key_values.json and entities.json.
"""
PROCESSED_PREFIX = "processed/"
"""The consolidated record: ``processed/<shipment>/shipment.json``."""
QUARANTINE_PREFIX = "quarantine/"
"""Refused documents, kept byte for byte: ``quarantine/<shipment>/<type>/<etag>.<ext>``."""

ARRIVAL_SIGNAL = "documents.arrived"
"""Signal (with start) delivering one arrival to ``shipment-<id>``."""

# --- Error types ----------------------------------------------------------------------

INVALID_SHIPMENT = "InvalidShipment"
"""A request naming an impossible shipment or document type."""
DOCUMENT_REFUSED = "DocumentRefused"
"""The document cannot be processed (not a PDF, empty, too large, unreadable by Textract);
the message says why. The shipment waits for a replacement."""
ANALYSIS_NOT_DONE = "TextractAnalysisNotDone"
"""Textract is still IN_PROGRESS (benign: the wait step polls)."""
ANALYSIS_FAILED = "TextractAnalysisFailed"
"""Textract ended the job FAILED; the message carries Textract's StatusMessage."""
SHIPMENT_FAILED = "ShipmentFailed"
"""The shipment stopped at a step (its failure or an operator's abort)."""


def shipment_workflow_id(shipment_id: str) -> str:
    """The shipment's workflow id (a business key: one workflow per shipment)."""
    return f"shipment-{shipment_id}"


def valid_shipment_id(value: str) -> bool:
    """True when ``value`` is a well-formed shipment id."""
    return re.fullmatch(SHIPMENT_PATTERN, value) is not None


def inbound_key(shipment_id: str, doc_type: str, extension: str = "pdf") -> str:
    """Where a document of ``doc_type`` for ``shipment_id`` is dropped."""
    return f"{INBOUND_PREFIX}{shipment_id}/{doc_type}.{extension}"


def parse_inbound_key(key: str) -> tuple[str, str, str] | None:
    """``(shipment_id, doc_type, extension)`` of an inbound key, or None when it is not one.

    The type and extension are returned as written (lower-cased); whether they are accepted is
    the workflow's decision (an unknown type is refused with a reason, not dropped).
    """
    if not key.startswith(INBOUND_PREFIX):
        return None
    parts = key[len(INBOUND_PREFIX) :].split("/")
    if len(parts) != 2 or not valid_shipment_id(parts[0]) or "." not in parts[1]:
        return None
    stem, _, extension = parts[1].lower().rpartition(".")
    # Names only: a type or extension with anything else (control characters, spaces) is not a
    # shipment document, so nothing of it reaches a step name, a row or a terminal.
    if re.fullmatch(r"[a-z0-9_-]{1,64}", stem) is None or re.fullmatch(r"[a-z0-9]{1,16}", extension) is None:
        return None
    return parts[0], stem, extension


# --- The workflow ---------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentArrival:
    """One document that arrived for a shipment (the arrival signal's input)."""

    shipment_id: str
    doc_type: str
    """As written in the key; an unknown type is refused by the workflow with a reason."""
    key: str
    """Its S3 key under ``documents-inbound/`` (in the documents bucket)."""
    etag: str
    """S3's ETag without quotes: the document's identity. The same bytes uploaded twice have
    the same ETag and change nothing."""
    size: int
    """Bytes, as S3 reports them."""
    extension: str = "pdf"
    """The key's extension, lower-cased."""
    submitted_by: str = ""
    """The partner that uploaded it through the API or CLI ("" for a plain S3 drop)."""


@dataclass(frozen=True)
class ShipmentInput:
    """How one shipment is processed (the workflow's input, from settings at its first arrival)."""

    shipment_id: str
    required_types: list[str] = field(default_factory=lambda: list(DOCUMENT_TYPES))
    """Types that must all be present before extraction starts."""
    confidence_threshold: float = 0.95
    """Fields extracted with a lower confidence (0-1) go to review."""
    max_document_bytes: int = 10 * 1024 * 1024
    """Larger documents are refused."""
    analysis_poll_seconds: float = 5.0
    """Seconds between GetDocumentAnalysis calls."""
    max_analysis_minutes: float = 60.0
    """Longest the analysis wait polls before it parks."""
    missing: AttentionPolicy = field(default_factory=AttentionPolicy)
    """Remind -> escalate while a required document is missing."""
    review: AttentionPolicy = field(default_factory=AttentionPolicy)
    """Remind -> escalate while a review waits."""


@dataclass(frozen=True)
class FieldValue:
    """One field of the consolidated record, with its provenance."""

    doc_type: str
    name: str
    label: str
    value: str
    provenance: str
    """``extracted`` or ``reviewed``."""
    confidence: float | None = None
    """The extraction's confidence (also kept for reviewed fields)."""
    source: str = ""
    reviewed_by: str = ""
    review: str = ""
    """``confirmed`` or ``corrected`` for reviewed fields."""


@dataclass(frozen=True)
class ShipmentResult:
    """The consolidated shipment (the workflow's result)."""

    shipment_id: str
    status: str
    """``COMPLETE``."""
    processed_key: str
    """``processed/<shipment>/shipment.json`` in the documents bucket."""
    documents: dict[str, str]
    """ETag of the accepted document per type."""
    fields: list[FieldValue]
    reviewed: int
    """Fields a reviewer answered."""


@dataclass(frozen=True)
class DocumentState:
    """One document type of a shipment as the workflow sees it (memo/status)."""

    doc_type: str
    status: str
    """``missing``, ``received``, ``extracting``, ``in_review``, ``accepted``, ``refused``, ``rejected``."""
    etag: str = ""
    reason: str = ""
    """Why it was refused or rejected."""


# --- Activities -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenInput:
    """Check one arrived document before anything reads it."""

    arrival: DocumentArrival
    max_document_bytes: int


@dataclass(frozen=True)
class ScreenedDocument:
    """A screened document: accepted (copied to the raw layer) or refused (quarantined)."""

    accepted: bool
    etag: str
    raw_key: str = ""
    """``raw/<shipment>/<type>/<etag>.pdf`` when accepted."""
    reason: str = ""
    """Why it was refused (``not a PDF (starts with 'PK')``, ``empty file``, ``too large: ...``)."""
    quarantine_key: str = ""
    """Where the refused bytes are kept."""


@dataclass(frozen=True)
class AnalysisRequest:
    """Start Textract's form analysis of one raw document."""

    shipment_id: str
    doc_type: str
    etag: str
    raw_key: str


@dataclass(frozen=True)
class AnalysisJob:
    """A started analysis."""

    job_id: str


@dataclass(frozen=True)
class AnalysisWait:
    """Poll one analysis (retry-as-poll: ANALYSIS_NOT_DONE while IN_PROGRESS)."""

    shipment_id: str
    doc_type: str
    etag: str
    job_id: str


@dataclass(frozen=True)
class AnalysisOutput:
    """Where a finished analysis was written (``staging/<shipment>/<type>/<etag>/``)."""

    prefix: str
    """The staging prefix holding textract.json, text.txt and key_values.json."""
    pages: int
    lines: int
    key_values: int


@dataclass(frozen=True)
class EntitiesRequest:
    """Comprehend entities over one analysed document's text."""

    shipment_id: str
    doc_type: str
    etag: str
    prefix: str
    """The staging prefix of the analysis (its text.txt is read; entities.json is written)."""


@dataclass(frozen=True)
class EntitiesOutput:
    entities: int


@dataclass(frozen=True)
class CheckRequest:
    """Find the document type's required fields in its staged outputs."""

    shipment_id: str
    doc_type: str
    etag: str
    prefix: str
    confidence_threshold: float


@dataclass(frozen=True)
class CheckedDocument:
    """Every required field of one document, and the ones a reviewer must answer."""

    doc_type: str
    etag: str
    fields: list[FormField]
    """Every required field with its value, confidence and source (reason set when it needs review)."""
    to_review: list[str]
    """Names of the fields missing or below the threshold."""
    note: str = ""
    """A document-level remark for the reviewer (``no text found: a scanned image?``)."""


@dataclass(frozen=True)
class ReviewRecord:
    """A reviewer's answer on one document."""

    shipment_id: str
    doc_type: str
    etag: str
    operator: str
    answers: dict[str, str]


@dataclass(frozen=True)
class DocumentRejection:
    """A document a reviewer rejected, or one refused after screening (Textract could not read it)."""

    shipment_id: str
    doc_type: str
    etag: str
    reason: str
    operator: str = ""
    """The reviewer ("" when refused by the pipeline)."""


@dataclass(frozen=True)
class ConsolidateRequest:
    """Build the shipment's record from its accepted documents."""

    shipment_id: str
    documents: dict[str, str]
    """ETag of the accepted document per type."""


@dataclass(frozen=True)
class ArrivalRecord:
    """Record an arrival in Postgres (the shipment and the document's row), idempotent by ETag."""

    arrival: DocumentArrival
    status: str
    """``RECEIVED``, or ``IGNORED`` (a duplicate or a type the shipment already has)."""
    reason: str = ""


SCREEN_DOCUMENT = ActivityRef("documents_screen", ScreenInput, ScreenedDocument)
RECORD_ARRIVAL = ActivityRef("documents_record_arrival", ArrivalRecord, type(None))
START_ANALYSIS = ActivityRef("documents_start_analysis", AnalysisRequest, AnalysisJob)
AWAIT_ANALYSIS = ActivityRef("documents_await_analysis", AnalysisWait, AnalysisOutput)
DETECT_ENTITIES = ActivityRef("documents_detect_entities", EntitiesRequest, EntitiesOutput)
CHECK_FIELDS = ActivityRef("documents_check_fields", CheckRequest, CheckedDocument)
RECORD_REVIEW = ActivityRef("documents_record_review", ReviewRecord, type(None))
REJECT_DOCUMENT = ActivityRef("documents_reject", DocumentRejection, type(None))
CONSOLIDATE = ActivityRef("documents_consolidate", ConsolidateRequest, ShipmentResult)

ACTIVITIES = (
    RECORD_ARRIVAL,
    SCREEN_DOCUMENT,
    START_ANALYSIS,
    AWAIT_ANALYSIS,
    DETECT_ENTITIES,
    CHECK_FIELDS,
    RECORD_REVIEW,
    REJECT_DOCUMENT,
    CONSOLIDATE,
)
"""Every activity the shipment workflow calls (the worker's catalog registers exactly these)."""
