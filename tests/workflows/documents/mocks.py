"""Name-matched stand-ins for the shipment documents activities, for workflow-logic tests on the
time-skipping server.

``MockDocuments`` plays the documents bucket, Textract, Comprehend and the shipment's rows, and
records every call. Its switches, each keyed by a document's ETag:

* ``screen_refused``: ETag -> the reason the screen refuses it (quarantined, not analysed);
* ``textract_refused``: ETag -> the StatusMessage of a Textract job that ends FAILED (the wait
  raises the non-retryable ``DocumentRefused``);
* ``throttled``: while True, StartDocumentAnalysis raises the retryable ``AwsThrottled``, as the
  AWS error taxonomy maps Textract's ProvisionedThroughputExceededException;
* ``access_denied``: while True, StartDocumentAnalysis raises the non-retryable
  ``AwsAccessDenied`` (a role without ``textract:StartDocumentAnalysis``);
* ``analysis_polls``: how many polls of each job find it IN_PROGRESS (the benign
  ``TextractAnalysisNotDone``);
* ``to_review``: ETag -> the fields whose confidence is below the threshold.

Step control's own activities (the decision audit, the attention notice) are stood in for as
well: the collect wait reminds and escalates, the review gate notifies, decisions are audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.common.contracts import (
    AWS_ACCESS_DENIED,
    AWS_THROTTLED,
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    ActivityRef,
    AttentionNotice,
    DecisionAudit,
    FormField,
)
from activities.documents.contracts import (
    ANALYSIS_NOT_DONE,
    AWAIT_ANALYSIS,
    CHECK_FIELDS,
    CONSOLIDATE,
    DETECT_ENTITIES,
    DOCUMENT_REFUSED,
    RECORD_ARRIVAL,
    RECORD_REVIEW,
    REJECT_DOCUMENT,
    SCREEN_DOCUMENT,
    STAGING_PREFIX,
    START_ANALYSIS,
    AnalysisJob,
    AnalysisOutput,
    AnalysisRequest,
    AnalysisWait,
    ArrivalRecord,
    CheckedDocument,
    CheckRequest,
    ConsolidateRequest,
    DocumentRejection,
    EntitiesOutput,
    EntitiesRequest,
    FieldValue,
    ReviewRecord,
    ScreenedDocument,
    ScreenInput,
    ShipmentResult,
)
from tests.support.mocks import covering, mock_activity, step_control_mocks

ACTIVITIES: list[ActivityRef[Any, Any]] = [
    SCREEN_DOCUMENT,
    RECORD_ARRIVAL,
    START_ANALYSIS,
    AWAIT_ANALYSIS,
    DETECT_ENTITIES,
    CHECK_FIELDS,
    RECORD_REVIEW,
    REJECT_DOCUMENT,
    CONSOLIDATE,
]

FIELDS = {
    "invoice": [
        FormField("invoice_number", "Invoice number", "text", "INV-2026-0147", 0.991, 'form key "Invoice No" (page 1)'),
        FormField("total", "Total", "amount", "12480.00", 0.987, 'form key "Total" (page 1)'),
        FormField(
            "billing_company",
            "Billing company",
            "text",
            "Northwind Traders",
            0.941,
            'entity ORGANIZATION #1 "Northwind Traders"',
        ),
    ],
    "customs": [
        FormField(
            "authorisation_number", "Authorisation number", "text", "CA-77812", 0.993, 'form key "Authorisation No"'
        ),
        FormField("hs_codes", "HS codes", "codes", "8471.30, 8473.30", 0.982, 'form key "HS Codes"'),
    ],
}


@dataclass(frozen=True)
class Call:
    """One activity call: its name, the document type it was for and its input."""

    activity: str
    doc_type: str
    arg: Any


@dataclass
class MockDocuments:
    """The bucket, Textract, Comprehend and the rows of shipments, recording every call."""

    screen_refused: dict[str, str] = field(default_factory=dict)
    textract_refused: dict[str, str] = field(default_factory=dict)
    throttled: bool = False
    access_denied: bool = False
    analysis_polls: int = 0
    to_review: dict[str, list[str]] = field(default_factory=dict)

    calls: list[Call] = field(default_factory=list)
    """One per first attempt, in the order they started."""
    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Attempts of every activity, by (activity, doc_type)."""
    audits: list[DecisionAudit] = field(default_factory=list)
    notices: list[AttentionNotice] = field(default_factory=list)

    def names(self, doc_type: str | None = None) -> list[str]:
        """Activity names of the calls (for one type), in order."""
        return [call.activity for call in self.calls if doc_type is None or call.doc_type == doc_type]

    def called(self, name: str, doc_type: str | None = None) -> list[Any]:
        """The inputs of every call of activity ``name`` (for one type), in order."""
        return [c.arg for c in self.calls if c.activity == name and (doc_type is None or c.doc_type == doc_type)]

    def _enter(self, name: str, doc_type: str, arg: Any) -> int:
        info = activity.info()
        self.attempts[(name, doc_type)] += 1
        if info.attempt == 1:
            self.calls.append(Call(name, doc_type, arg))
        return info.attempt

    def activities(self) -> list[Callable[..., Any]]:
        """The activity functions to register (the documents pipeline's and step control's)."""

        @mock_activity(RECORD_ARRIVAL)
        async def record_arrival(record: ArrivalRecord) -> None:
            self._enter(RECORD_ARRIVAL.name, record.arrival.doc_type, record)

        @mock_activity(SCREEN_DOCUMENT)
        async def screen(check: ScreenInput) -> ScreenedDocument:
            arrival = check.arrival
            self._enter(SCREEN_DOCUMENT.name, arrival.doc_type, check)
            where = f"{arrival.shipment_id}/{arrival.doc_type}/{arrival.etag}"
            if arrival.etag in self.screen_refused:
                return ScreenedDocument(
                    False,
                    arrival.etag,
                    reason=self.screen_refused[arrival.etag],
                    quarantine_key=f"quarantine/{where}.pdf",
                )
            return ScreenedDocument(True, arrival.etag, raw_key=f"raw/{where}.pdf")

        @mock_activity(START_ANALYSIS)
        async def start_analysis(request: AnalysisRequest) -> AnalysisJob:
            self._enter(START_ANALYSIS.name, request.doc_type, request)
            if self.throttled:
                raise ApplicationError(
                    "textract StartDocumentAnalysis: ProvisionedThroughputExceededException: rate exceeded",
                    {"code": "ProvisionedThroughputExceededException"},
                    type=AWS_THROTTLED,
                    next_retry_delay=timedelta(milliseconds=20),  # the backoff is the policy's; the test's is short
                )
            if self.access_denied:
                raise ApplicationError(
                    "textract StartDocumentAnalysis: AccessDeniedException: not authorized",
                    {"code": "AccessDeniedException"},
                    type=AWS_ACCESS_DENIED,
                    non_retryable=True,
                )
            return AnalysisJob(f"job-{request.doc_type}-{request.etag}")

        @mock_activity(AWAIT_ANALYSIS)
        async def await_analysis(wait: AnalysisWait) -> AnalysisOutput:
            if self._enter(AWAIT_ANALYSIS.name, wait.doc_type, wait) <= self.analysis_polls:
                raise ApplicationError(
                    f"Textract job {wait.job_id} is IN_PROGRESS",
                    type=ANALYSIS_NOT_DONE,
                    category=ApplicationErrorCategory.BENIGN,
                )
            if wait.etag in self.textract_refused:
                raise ApplicationError(
                    f"Textract could not read the {wait.doc_type}: {self.textract_refused[wait.etag]}",
                    type=DOCUMENT_REFUSED,
                    non_retryable=True,
                )
            return AnalysisOutput(f"{STAGING_PREFIX}{wait.shipment_id}/{wait.doc_type}/{wait.etag}/", 1, 20, 8)

        @mock_activity(DETECT_ENTITIES)
        async def detect_entities(request: EntitiesRequest) -> EntitiesOutput:
            self._enter(DETECT_ENTITIES.name, request.doc_type, request)
            return EntitiesOutput(6)

        @mock_activity(CHECK_FIELDS)
        async def check_fields(request: CheckRequest) -> CheckedDocument:
            self._enter(CHECK_FIELDS.name, request.doc_type, request)
            low = self.to_review.get(request.etag, [])
            fields = [
                FormField(
                    f.name, f.label, f.kind, f.value, f.confidence, f.source, f"confidence {f.confidence} below 0.95"
                )
                if f.name in low
                else f
                for f in FIELDS[request.doc_type]
            ]
            return CheckedDocument(request.doc_type, request.etag, fields, list(low))

        @mock_activity(RECORD_REVIEW)
        async def record_review(review: ReviewRecord) -> None:
            self._enter(RECORD_REVIEW.name, review.doc_type, review)

        @mock_activity(REJECT_DOCUMENT)
        async def reject(rejection: DocumentRejection) -> None:
            self._enter(REJECT_DOCUMENT.name, rejection.doc_type, rejection)

        @mock_activity(CONSOLIDATE)
        async def consolidate(request: ConsolidateRequest) -> ShipmentResult:
            self._enter(CONSOLIDATE.name, "", request)
            reviews = {(r.doc_type, r.etag): r for r in self.called(RECORD_REVIEW.name)}
            values = []
            for doc_type, etag in request.documents.items():
                review = reviews.get((doc_type, etag))
                for f in FIELDS[doc_type]:
                    if review is not None and f.name in review.answers:
                        answer = review.answers[f.name]
                        how = "confirmed" if answer == f.value else "corrected"
                        values.append(
                            FieldValue(
                                doc_type,
                                f.name,
                                f.label,
                                answer,
                                "reviewed",
                                f.confidence,
                                f.source,
                                review.operator,
                                how,
                            )
                        )
                    else:
                        values.append(
                            FieldValue(doc_type, f.name, f.label, f.value, "extracted", f.confidence, f.source)
                        )
            return ShipmentResult(
                request.shipment_id,
                "COMPLETE",
                f"processed/{request.shipment_id}/shipment.json",
                dict(request.documents),
                values,
                sum(1 for v in values if v.provenance == "reviewed"),
            )

        return covering(
            [*ACTIVITIES, RECORD_DECISION, NOTIFY_ATTENTION],
            [
                record_arrival,
                screen,
                start_analysis,
                await_analysis,
                detect_entities,
                check_fields,
                record_review,
                reject,
                consolidate,
                *step_control_mocks(self.audits, self.notices),
            ],
        )
