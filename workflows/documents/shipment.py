"""ShipmentWorkflow: one shipment's documents, from their arrival to one consolidated record.

    collect                  wait until every required type has a document (remind -> escalate,
                             naming the missing types); arrivals come by signal-with-start
    per document, at once:
      screen:<type>          size and PDF check; copied to raw/ (or quarantined with the reason)
      analyse:<type>         Textract StartDocumentAnalysis (FORMS), idempotent by client token
      await_analysis:<type>  retry-as-poll until SUCCEEDED; blocks, text and key-values to staging/
      entities:<type>        Comprehend DetectEntities over the text
      check:<type>           the type's required fields, each with its confidence
      review:<type>          a gate with a form for the fields missing or below the threshold
                             (the article's A2I human loop): approve with answers, or reject
    consolidate              the shipment's record (Postgres, processed/, SNS)

A document the screen or Textract refuses, or a reviewer rejects, leaves its type missing
again: the shipment goes back to collect and waits for a replacement. A document's identity
is its S3 ETag: the same (type, ETag) arriving again changes nothing; an arrival the shipment
cannot take (an unknown type or extension, a type it already has) is kept in the status with
the reason, never dropped. Workflow id ``shipment-<id>``; every document's content stays in
S3, the history holds keys, ETags and field values only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.documents.policies as policies
    from activities.common.contracts import ReviewForm
    from activities.documents.contracts import (
        ARRIVAL_SIGNAL,
        AWAIT_ANALYSIS,
        CHECK_FIELDS,
        CONSOLIDATE,
        DETECT_ENTITIES,
        DOCUMENT_EXTENSIONS,
        DOCUMENT_REFUSED,
        PIPELINE,
        RECORD_ARRIVAL,
        RECORD_REVIEW,
        REJECT_DOCUMENT,
        SCREEN_DOCUMENT,
        SHIPMENT_FAILED,
        START_ANALYSIS,
        AnalysisRequest,
        AnalysisWait,
        ArrivalRecord,
        CheckedDocument,
        CheckRequest,
        ConsolidateRequest,
        DocumentArrival,
        DocumentRejection,
        DocumentState,
        EntitiesRequest,
        ReviewRecord,
        ScreenInput,
        ShipmentInput,
        ShipmentResult,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers

STATUS_QUERY = "documents.status"
"""Query: the shipment's :class:`ShipmentStatus` (its documents and the arrivals it did not take)."""
STATUS_MEMO = "status"
"""Memo key: the shipment's status (RECEIVING, EXTRACTING, IN_REVIEW, COMPLETE, FAILED)."""
DOCUMENTS_MEMO = "documents"
"""Memo key: ``{doc_type: document status}``, readable without a worker."""
IGNORED_KEPT = 100
"""Arrivals not taken kept for the status (the oldest are dropped beyond this)."""

TAKEN = ("received", "extracting", "in_review", "accepted")
"""Document statuses that fill their type; ``missing``, ``refused`` and ``rejected`` do not."""


@dataclass(frozen=True)
class IgnoredArrival:
    """An arrival the shipment did not take, and why."""

    doc_type: str
    key: str
    etag: str
    outcome: str
    """``ignored`` (a duplicate, a type the shipment already has) or ``refused`` (an unknown
    type or extension)."""
    reason: str


@dataclass(frozen=True)
class ShipmentStatus:
    """The status query's answer."""

    shipment_id: str
    status: str
    """``RECEIVING``, ``EXTRACTING``, ``IN_REVIEW``, ``COMPLETE`` or ``FAILED``."""
    documents: list[DocumentState]
    """One per required type, in the shipment's order."""
    missing: list[str]
    """Required types without a document in process or accepted (what collect waits for)."""
    ignored: list[IgnoredArrival] = field(default_factory=list)
    """Arrivals not taken, oldest first."""
    reason: str = ""
    """Why the shipment failed."""


@dataclass
class _Slot:
    """One required document type as the workflow tracks it."""

    doc_type: str
    status: str = "missing"
    arrival: DocumentArrival | None = None
    reason: str = ""
    recorded: bool = False
    """The arrival's Postgres row is written (the pipeline waits for it, so its own rows come after)."""

    def state(self) -> DocumentState:
        return DocumentState(self.doc_type, self.status, self.arrival.etag if self.arrival else "", self.reason)


class _Refused(Exception):
    """A document the pipeline could not take (raised inside one document's steps)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@workflow.defn
class ShipmentWorkflow(StepControlHandlers):
    """A shipment: collect its documents, extract and check each, review what is unsure, consolidate."""

    @workflow.init
    def __init__(self, shipment: ShipmentInput) -> None:
        self.steps = StepControl(PIPELINE)
        self._input = shipment
        self._slots = {doc_type: _Slot(doc_type) for doc_type in shipment.required_types}
        self._seen: set[tuple[str, str]] = set()
        """(type, ETag) of the arrivals taken or refused: the same again is a duplicate."""
        self._held: dict[str, DocumentArrival] = {}
        """Per type, the newest arrival ignored while the type was taken: the replacement taken if
        the document in process is refused or rejected (its bytes replaced it under the same key)."""
        self._ignored: list[IgnoredArrival] = []
        self._status = "RECEIVING"
        self._reason = ""
        self._memo: dict[str, object] = {}

    # ----- arrivals -------------------------------------------------------------------

    @workflow.signal(name=ARRIVAL_SIGNAL)
    async def arrived(self, arrival: DocumentArrival) -> None:
        """A document arrived: taken when its type is missing, else kept in the status as ignored."""
        outcome, reason = self._classify(arrival)
        if outcome in ("duplicate", "elsewhere"):
            return
        await self._record_arrival(arrival, "RECEIVED" if outcome == "taken" else "IGNORED", reason)

    async def _record_arrival(self, arrival: DocumentArrival, status: str, reason: str = "") -> None:
        # One step per arrival (type and ETag): two arrivals of a type recorded at once are two
        # steps, each parked and decided on its own if Postgres is away.
        await self.steps.run(
            f"record_arrival:{arrival.doc_type}:{arrival.etag}",
            RECORD_ARRIVAL,
            ArrivalRecord(arrival, status, reason),
            policy=policies.RECORD,
            progress=False,
        )
        slot = self._slots.get(arrival.doc_type)
        if status == "RECEIVED" and slot is not None and slot.arrival == arrival:
            slot.recorded = True

    def _classify(self, arrival: DocumentArrival) -> tuple[str, str]:
        """``taken``, ``ignored``, ``refused``, ``duplicate`` or ``elsewhere`` (another shipment's),
        and why; deterministic and without an await, so arrivals are classified in their order."""
        if (arrival.doc_type, arrival.etag) in self._seen:
            reason = f"the same document (ETag {arrival.etag}) already arrived"
            same = self._slots.get(arrival.doc_type)
            if same is not None and same.arrival is not None and same.arrival.etag == arrival.etag:
                reason += f" and is {same.status}" + (f": {same.reason}" if same.reason else "")
            self._note(arrival, "ignored", reason)
            return "duplicate", ""
        if arrival.shipment_id != self._input.shipment_id:  # not this shipment's row to write
            self._seen.add((arrival.doc_type, arrival.etag))
            self._note(arrival, "refused", f"the document is for shipment {arrival.shipment_id}")
            return "elsewhere", ""
        slot = self._slots.get(arrival.doc_type)
        if slot is not None and slot.status in TAKEN and arrival.extension in DOCUMENT_EXTENSIONS:
            if self._held.get(slot.doc_type) == arrival:
                return "duplicate", ""
            etag = slot.arrival.etag if slot.arrival else ""
            reason = f"the shipment already has its {slot.doc_type} ({slot.status}, ETag {etag})"
            if slot.status != "accepted":
                reason += "; taken if that one is refused or rejected"
            self._held[slot.doc_type] = arrival
            self._note(arrival, "ignored", reason)
            return "ignored", reason
        self._seen.add((arrival.doc_type, arrival.etag))
        if slot is None:
            reason = f"unknown document type {arrival.doc_type!r}: a shipment takes {', '.join(self._slots)}"
        elif arrival.extension not in DOCUMENT_EXTENSIONS:
            expected = ", ".join(f".{ext}" for ext in DOCUMENT_EXTENSIONS)
            reason = f"unsupported file type .{arrival.extension} (documents are {expected})"
        else:
            self._take(slot, arrival)
            return "taken", ""
        self._note(arrival, "refused", reason)
        return "refused", reason

    def _take(self, slot: _Slot, arrival: DocumentArrival) -> None:
        if self._held.get(slot.doc_type) == arrival:
            del self._held[slot.doc_type]
        self._ignored = [i for i in self._ignored if (i.doc_type, i.etag) != (arrival.doc_type, arrival.etag)]
        slot.arrival, slot.status, slot.reason, slot.recorded = arrival, "received", "", False
        self._publish()

    def _note(self, arrival: DocumentArrival, outcome: str, reason: str) -> None:
        if any((i.doc_type, i.etag) == (arrival.doc_type, arrival.etag) for i in self._ignored):
            return
        self._ignored.append(IgnoredArrival(arrival.doc_type, arrival.key, arrival.etag, outcome, reason))
        del self._ignored[:-IGNORED_KEPT]

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> ShipmentStatus:
        """The shipment's documents, what it still misses, and the arrivals it did not take."""
        return ShipmentStatus(
            shipment_id=self._input.shipment_id,
            status=self._status,
            documents=[slot.state() for slot in self._slots.values()],
            missing=self._missing(),
            ignored=list(self._ignored),
            reason=self._reason,
        )

    # ----- the flow -------------------------------------------------------------------

    @workflow.run
    async def run(self, shipment: ShipmentInput) -> ShipmentResult:
        async with at_exit(self.steps.settle):
            try:
                return await self._run(shipment)
            except STEP_ERRORS as error:  # an abort is an ApplicationError too
                raise self._fail(error) from None

    async def _run(self, shipment: ShipmentInput) -> ShipmentResult:
        while True:
            self._set_status("RECEIVING")
            await self.steps.wait_for(
                "collect",
                lambda: not self._missing(),
                describe=lambda: f"shipment {shipment.shipment_id} is missing: {', '.join(self._missing())}",
                attention=shipment.missing,
                audience="reviewers",
            )
            self._set_status("EXTRACTING")
            arrived = [slot for slot in self._slots.values() if slot.status == "received"]
            await self.steps.run_all([self._process(shipment, slot) for slot in arrived])
            if all(slot.status == "accepted" for slot in self._slots.values()):
                break
        documents = {slot.doc_type: slot.arrival.etag for slot in self._slots.values() if slot.arrival}
        result = await self.steps.run(
            "consolidate",
            CONSOLIDATE,
            ConsolidateRequest(shipment.shipment_id, documents),
            policy=policies.CONSOLIDATE,
        )
        self._set_status("COMPLETE")
        _shipments_total("complete")
        return result

    async def _process(self, shipment: ShipmentInput, slot: _Slot) -> None:
        """One document's steps; a refusal or rejection leaves its type missing again."""
        arrival = slot.arrival
        assert arrival is not None
        await workflow.wait_condition(lambda: slot.recorded)
        self._set_document(slot, "extracting")
        try:
            checked = await self._extract(shipment, arrival)
            if checked.to_review:
                self._set_document(slot, "in_review")
                await self._review(shipment, arrival, checked)
        except _Refused as refused:
            self._set_document(slot, refused.status, refused.reason)
            await self._take_held(slot)
            return
        self._set_document(slot, "accepted")

    async def _take_held(self, slot: _Slot) -> None:
        """A replacement that arrived while the refused (or rejected) document was in process."""
        held = self._held.get(slot.doc_type)
        if held is None or (held.doc_type, held.etag) in self._seen:
            return
        self._seen.add((held.doc_type, held.etag))
        self._take(slot, held)
        await self._record_arrival(held, "RECEIVED")  # its IGNORED row becomes RECEIVED

    async def _extract(self, shipment: ShipmentInput, arrival: DocumentArrival) -> CheckedDocument:
        doc_type, etag = arrival.doc_type, arrival.etag
        screened = await self.steps.run(
            f"screen:{doc_type}",
            SCREEN_DOCUMENT,
            ScreenInput(arrival, shipment.max_document_bytes),
            policy=policies.SCREEN,
        )
        if not screened.accepted:  # the screen quarantined it and recorded the reason
            raise _Refused("refused", screened.reason)
        try:
            job = await self.steps.run(
                f"analyse:{doc_type}",
                START_ANALYSIS,
                AnalysisRequest(shipment.shipment_id, doc_type, etag, screened.raw_key),
                policy=policies.START_ANALYSIS,
            )
            analysis = await self.steps.run(
                f"await_analysis:{doc_type}",
                AWAIT_ANALYSIS,
                AnalysisWait(shipment.shipment_id, doc_type, etag, job.job_id),
                policy=policies.analysis_poll(shipment),
            )
            await self.steps.run(
                f"entities:{doc_type}",
                DETECT_ENTITIES,
                EntitiesRequest(shipment.shipment_id, doc_type, etag, analysis.prefix),
                policy=policies.DETECT_ENTITIES,
            )
        except STEP_ERRORS as error:
            failure = describe_failure(error)
            if failure.error_type != DOCUMENT_REFUSED:
                raise
            await self._reject(shipment, arrival, failure.message)
            raise _Refused("refused", failure.message) from None
        return await self.steps.run(
            f"check:{doc_type}",
            CHECK_FIELDS,
            CheckRequest(shipment.shipment_id, doc_type, etag, analysis.prefix, shipment.confidence_threshold),
            policy=policies.CHECK_FIELDS,
        )

    async def _review(self, shipment: ShipmentInput, arrival: DocumentArrival, checked: CheckedDocument) -> None:
        """The reviewer answers the fields the extraction is not sure of, or rejects the document."""
        doc_type = arrival.doc_type
        asked = [f for f in checked.fields if f.name in checked.to_review]
        context = f"{doc_type} of shipment {shipment.shipment_id} (ETag {arrival.etag})"
        if checked.note:
            context = f"{context}: {checked.note}"
        lines = "\n".join(
            f"  {f.label}: {f.value or '(not found)'}"
            + (f" ({f.confidence:.3f}, {f.source})" if f.confidence is not None else "")
            + (f" - {f.reason}" if f.reason else "")
            for f in asked
        )
        step = f"review:{doc_type}"
        answer = await self.steps.gate(
            step,
            subject=f"[stepwise] shipment {shipment.shipment_id}: review the {doc_type} ({len(asked)} field(s))",
            body=(
                f"The {context} needs a reviewer for {len(asked)} field(s):\n{lines}\n"
                f"Confirm or correct each, or reject the document: stepwise decide "
                f"{workflow.info().workflow_id} {step} approve --answer NAME=VALUE ... | reject --reason TEXT "
                "--operator NAME"
            ),
            attention=shipment.review,
            audience="reviewers",
            form=ReviewForm(fields=asked, context=context),
        )
        if answer.approved:
            await self.steps.run(
                f"record_review:{doc_type}",
                RECORD_REVIEW,
                ReviewRecord(shipment.shipment_id, doc_type, arrival.etag, answer.operator, dict(answer.answers)),
                policy=policies.RECORD,
            )
            return
        await self._reject(shipment, arrival, answer.reason, operator=answer.operator)
        raise _Refused("rejected", f"rejected by {answer.operator}: {answer.reason}")

    async def _reject(self, shipment: ShipmentInput, arrival: DocumentArrival, reason: str, operator: str = "") -> None:
        await self.steps.run(
            f"reject:{arrival.doc_type}",
            REJECT_DOCUMENT,
            DocumentRejection(shipment.shipment_id, arrival.doc_type, arrival.etag, reason, operator),
            policy=policies.RECORD,
        )

    # ----- state ----------------------------------------------------------------------

    def _missing(self) -> list[str]:
        return [slot.doc_type for slot in self._slots.values() if slot.status not in TAKEN]

    def _set_document(self, slot: _Slot, status: str, reason: str = "") -> None:
        slot.status, slot.reason = status, reason
        if any(s.status == "in_review" for s in self._slots.values()):
            self._set_status("IN_REVIEW")
        elif self._status == "IN_REVIEW":
            self._set_status("EXTRACTING")
        self._publish()

    def _set_status(self, status: str) -> None:
        self._status = status
        self._publish()

    def _publish(self) -> None:
        """Upsert the memo when what it shows changed (one history event per change)."""
        memo: dict[str, object] = {
            STATUS_MEMO: self._status,
            DOCUMENTS_MEMO: {slot.doc_type: slot.status for slot in self._slots.values()},
        }
        if memo != self._memo:
            self._memo = memo
            workflow.upsert_memo(memo)

    def _fail(self, error: BaseException) -> ApplicationError:
        """The error the shipment fails with (an operator's abort, or a step's final failure)."""
        # The documents' steps run at once: the current step may be a sibling of the one that failed.
        current = self.steps.stopped_at()
        failed = [s.name for s in self.steps.status().steps if s.status in ("aborted", "failed")]
        step = current if current in failed or not failed else failed[-1]
        step = step or self._status.lower()
        self._reason = f"{step}: {describe_failure(error).message}"
        self._set_status("FAILED")
        _shipments_total("failed")
        return ApplicationError(
            f"shipment {self._input.shipment_id} failed at {self._reason}", type=SHIPMENT_FAILED, non_retryable=True
        )


def _shipments_total(outcome: str) -> None:
    workflow.metric_meter().create_counter("stepwise_documents_shipments_total", "Shipments by outcome").add(
        1, {"outcome": outcome}
    )
