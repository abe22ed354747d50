"""ShipmentWorkflow on the time-skipping server, with name-matched mock activities.

The bucket, Textract, Comprehend and the rows are played by :class:`MockDocuments`; what is
tested here is the workflow's own logic: it waits for every required document (reminding and
escalating, naming what is missing), takes a document once by its ETag, waits for a
replacement of a refused or rejected one, asks a reviewer through a form, and parks a
throttled Textract step for an operator's retry.

Arrivals are delivered as the intake delivers them (:func:`worker.documents_intake.signal_shipment`,
signal-with-start). A park or a gate is waited for with time skipping locked (``wait_waiting``
polls the query), so hours of waiting are skipped explicitly (``time_env.sleep``), and the
mock's throttling asks for its next attempt soon (``next_retry_delay``), so a step's retries
run out in milliseconds.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from activities.common.contracts import (
    AWS_ACCESS_DENIED,
    AWS_THROTTLED,
    AttentionPolicy,
)
from activities.documents.contracts import (
    AWAIT_ANALYSIS,
    CHECK_FIELDS,
    CONSOLIDATE,
    DETECT_ENTITIES,
    RECORD_ARRIVAL,
    RECORD_REVIEW,
    REJECT_DOCUMENT,
    SCREEN_DOCUMENT,
    START_ANALYSIS,
    DocumentState,
)
from tests.support.documents import (
    HOUR,
    OPERATOR,
    REVIEWER,
    arrival_of,
    arrive,
    decide,
    eventually_status,
    new_shipment,
    shipment_status,
    shipment_worker,
)
from tests.support.step_control import step_status, wait_waiting
from tests.support.waiting import eventually
from tests.workflows.documents.mocks import MockDocuments

PIPELINE_STEPS = [
    SCREEN_DOCUMENT.name,
    START_ANALYSIS.name,
    AWAIT_ANALYSIS.name,
    DETECT_ENTITIES.name,
    CHECK_FIELDS.name,
]


async def test_a_shipment_missing_its_customs_form_waits_reminds_escalates_then_completes_when_it_arrives(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockDocuments()
    shipment = new_shipment(missing=AttentionPolicy(remind_after_seconds=4 * HOUR, escalate_after_seconds=24 * HOUR))
    sid = shipment.shipment_id
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(time_env, task_queue, shipment, arrival_of(shipment, "invoice", "etag-inv"))
        status = await eventually_status(handle, lambda s: s.documents[0].status == "received")
        assert (status.status, status.missing) == ("RECEIVING", ["customs"])
        collect = next(s for s in (await step_status(handle)).steps if s.name == "collect")
        assert (collect.kind, collect.status) == ("wait", "waiting")
        assert "collect" not in (await step_status(handle)).waiting  # nobody can decide it: not in the inbox

        await time_env.sleep(timedelta(hours=25))  # the customs form does not come for a day
        await eventually(lambda: len(mocks.notices) == 2)
        # The same invoice dropped again changes nothing.
        await arrive(time_env, task_queue, shipment, arrival_of(shipment, "invoice", "etag-inv"))
        status = await eventually_status(handle, lambda s: bool(s.ignored))
        assert mocks.names() == [RECORD_ARRIVAL.name]  # nothing extracted while a document is missing

        await arrive(time_env, task_queue, shipment, arrival_of(shipment, "customs", "etag-cus"))
        result = await handle.result()
        final = await shipment_status(handle)

    missing = f"shipment {sid} is missing: customs"
    assert [(n.audience, n.subject) for n in mocks.notices] == [
        ("reviewers", f"Reminder: {missing}"),
        ("operators", f"Escalated: {missing}"),
    ]
    assert [i.reason for i in status.ignored] == ["the same document (ETag etag-inv) already arrived and is received"]
    assert status.documents == [DocumentState("invoice", "received", "etag-inv"), DocumentState("customs", "missing")]
    assert [a.arrival.etag for a in mocks.called(RECORD_ARRIVAL.name)] == ["etag-inv", "etag-cus"]
    for doc_type in ("invoice", "customs"):
        assert [n for n in mocks.names(doc_type) if n != RECORD_ARRIVAL.name] == PIPELINE_STEPS
    [consolidated] = mocks.called(CONSOLIDATE.name)
    assert consolidated.documents == {"invoice": "etag-inv", "customs": "etag-cus"}
    assert (result.status, result.documents, result.reviewed) == ("COMPLETE", consolidated.documents, 0)
    assert final.status == "COMPLETE" and [d.status for d in final.documents] == ["accepted", "accepted"]
    assert mocks.audits == []


async def test_arrivals_the_shipment_cannot_take_are_listed_with_their_reason_and_nothing_else_changes(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockDocuments()
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "packing_list", "etag-pl"),
            arrival_of(shipment, "customs", "etag-docx", extension="docx"),
            arrival_of(shipment, "invoice", "etag-inv-2"),
        )
        status = await eventually_status(handle, lambda s: len(s.ignored) == 3)
        await eventually(lambda: len(mocks.calls) == 4)
        await handle.terminate("test done")

    assert [(i.doc_type, i.outcome, i.reason) for i in status.ignored] == [
        ("packing_list", "refused", "unknown document type 'packing_list': a shipment takes invoice, customs"),
        ("customs", "refused", "unsupported file type .docx (documents are .pdf)"),
        (
            "invoice",
            "ignored",
            "the shipment already has its invoice (received, ETag etag-inv); taken if that one is refused or rejected",
        ),
    ]
    assert sorted((r.arrival.etag, r.status) for r in mocks.called(RECORD_ARRIVAL.name)) == [
        ("etag-docx", "IGNORED"),
        ("etag-inv", "RECEIVED"),
        ("etag-inv-2", "IGNORED"),
        ("etag-pl", "IGNORED"),
    ]
    assert status.missing == ["customs"] and status.documents[0] == DocumentState("invoice", "received", "etag-inv")


async def test_a_refused_document_leaves_its_type_missing_until_a_replacement_arrives(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockDocuments(
        screen_refused={"etag-zip": "not a PDF (starts with 'PK')"},
        textract_refused={"etag-scan": "UnsupportedDocumentException: the document format is not supported"},
    )
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "customs", "etag-zip"),
        )
        refused = await eventually_status(
            handle, lambda s: s.documents[1].status == "refused" and s.status == "RECEIVING"
        )
        await arrive(time_env, task_queue, shipment, arrival_of(shipment, "customs", "etag-scan"))
        unreadable = await eventually_status(
            handle, lambda s: s.documents[1].etag == "etag-scan" and s.documents[1].status == "refused"
        )
        await arrive(time_env, task_queue, shipment, arrival_of(shipment, "customs", "etag-cus"))
        result = await handle.result()

    assert refused.documents[1] == DocumentState("customs", "refused", "etag-zip", "not a PDF (starts with 'PK')")
    assert refused.missing == ["customs"] and refused.documents[0].status == "accepted"
    assert "UnsupportedDocumentException" in unreadable.documents[1].reason
    [rejection] = mocks.called(REJECT_DOCUMENT.name)  # the screen records its own refusal
    assert (rejection.etag, rejection.operator) == ("etag-scan", "")
    assert "UnsupportedDocumentException" in rejection.reason
    assert [c.arrival.etag for c in mocks.called(SCREEN_DOCUMENT.name, "customs")] == [
        "etag-zip",
        "etag-scan",
        "etag-cus",
    ]
    assert [r.etag for r in mocks.called(START_ANALYSIS.name, "customs")] == ["etag-scan", "etag-cus"]
    assert mocks.attempts[(SCREEN_DOCUMENT.name, "invoice")] == 1  # the invoice is not processed again
    assert result.documents == {"invoice": "etag-inv", "customs": "etag-cus"}


async def test_a_replacement_sent_while_its_type_is_in_process_is_taken_when_that_one_is_refused(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    # The same key again with new bytes: the first arrival's bytes are gone (the screen refuses
    # it as replaced), and the replacement, ignored on arrival, is what the shipment takes.
    mocks = MockDocuments(screen_refused={"etag-inv": "the document was deleted or replaced after it arrived"})
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "invoice", "etag-inv-2"),
            arrival_of(shipment, "invoice", "etag-inv-2"),  # an S3 event delivered twice
            arrival_of(shipment, "customs", "etag-cus"),
        )
        result = await handle.result()

    assert result.documents == {"invoice": "etag-inv-2", "customs": "etag-cus"}
    assert [c.arrival.etag for c in mocks.called(SCREEN_DOCUMENT.name, "invoice")] == ["etag-inv", "etag-inv-2"]
    # Recorded ignored on arrival (once; the two arrivals are recorded at once), then received when taken.
    records = [(r.arrival.etag, r.status) for r in mocks.called(RECORD_ARRIVAL.name) if r.arrival.doc_type == "invoice"]
    assert sorted(records[:2]) == [("etag-inv", "RECEIVED"), ("etag-inv-2", "IGNORED")]
    assert records[2:] == [("etag-inv-2", "RECEIVED")]


async def test_a_reviewer_answers_the_form_and_the_answers_are_recorded(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockDocuments(to_review={"etag-inv": ["billing_company"]})
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "customs", "etag-cus"),
        )
        gate = await wait_waiting(handle, "review:invoice")
        status = await shipment_status(handle)
        await decide(
            handle,
            "review:invoice",
            "approve",
            REVIEWER,
            "checked against the invoice",
            answers={"billing_company": "Northwind Traders Ltd"},
        )
        result = await handle.result()

    assert gate.form is not None and [f.name for f in gate.form.fields] == ["billing_company"]
    [asked] = gate.form.fields
    assert (asked.value, asked.confidence, asked.reason) == ("Northwind Traders", 0.941, "confidence 0.941 below 0.95")
    assert status.status == "IN_REVIEW" and status.documents[0].status == "in_review"
    assert [(n.audience, n.key.rsplit(":", 1)[1]) for n in mocks.notices] == [("reviewers", "notice")]
    assert "Billing company: Northwind Traders (0.941" in mocks.notices[0].body
    [review] = mocks.called(RECORD_REVIEW.name)
    assert (review.etag, review.operator, review.answers) == (
        "etag-inv",
        REVIEWER,
        {"billing_company": "Northwind Traders Ltd"},
    )
    [billing] = [f for f in result.fields if f.name == "billing_company"]
    assert (billing.value, billing.provenance, billing.reviewed_by, billing.review) == (
        "Northwind Traders Ltd",
        "reviewed",
        REVIEWER,
        "corrected",
    )
    assert result.reviewed == 1
    assert [(a.step, a.action, a.operator) for a in mocks.audits] == [("review:invoice", "approve", REVIEWER)]


async def test_a_rejected_document_waits_for_a_replacement(time_env: WorkflowEnvironment, task_queue: str) -> None:
    mocks = MockDocuments(to_review={"etag-inv": ["billing_company", "total"]})
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "customs", "etag-cus"),
        )
        await wait_waiting(handle, "review:invoice")
        await decide(handle, "review:invoice", "reject", REVIEWER, "this is the pro-forma, not the invoice")
        status = await eventually_status(handle, lambda s: s.status == "RECEIVING")
        await arrive(time_env, task_queue, shipment, arrival_of(shipment, "invoice", "etag-inv-2"))
        result = await handle.result()

    assert status.missing == ["invoice"]
    assert status.documents[0] == DocumentState(
        "invoice", "rejected", "etag-inv", f"rejected by {REVIEWER}: this is the pro-forma, not the invoice"
    )
    [rejection] = mocks.called(REJECT_DOCUMENT.name)
    assert (rejection.etag, rejection.operator, rejection.reason) == (
        "etag-inv",
        REVIEWER,
        "this is the pro-forma, not the invoice",
    )
    assert mocks.called(RECORD_REVIEW.name) == []
    assert result.documents == {"invoice": "etag-inv-2", "customs": "etag-cus"} and result.reviewed == 0


async def test_textract_throttled_until_the_retries_run_out_parks_and_a_retry_completes(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockDocuments(throttled=True, analysis_polls=2)
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "customs", "etag-cus"),
        )
        parked = await wait_waiting(handle, "analyse:invoice")
        await wait_waiting(handle, "analyse:customs")
        mocks.throttled = False  # the fault clears
        await decide(handle, "analyse:invoice", "retry", OPERATOR, "Textract quota raised")
        await decide(handle, "analyse:customs", "retry", OPERATOR, "Textract quota raised")
        result = await handle.result()

    assert (parked.last_error_type, parked.attempts, parked.allowed_actions) == (
        AWS_THROTTLED,
        5,
        ["retry", "skip", "abort"],
    )
    assert mocks.attempts[(START_ANALYSIS.name, "invoice")] == 6  # five throttled, then the retry
    assert mocks.attempts[(AWAIT_ANALYSIS.name, "invoice")] == 3  # polled twice IN_PROGRESS
    assert result.status == "COMPLETE"
    assert [(a.step, a.action) for a in mocks.audits] == [("analyse:invoice", "retry"), ("analyse:customs", "retry")]


async def test_textract_refusing_access_parks_the_step_instead_of_failing_the_shipment(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    mocks = MockDocuments(access_denied=True)
    shipment = new_shipment()
    async with shipment_worker(time_env, task_queue, mocks):
        handle = await arrive(
            time_env,
            task_queue,
            shipment,
            arrival_of(shipment, "invoice", "etag-inv"),
            arrival_of(shipment, "customs", "etag-cus"),
        )
        parked = await wait_waiting(handle, "analyse:invoice")
        await wait_waiting(handle, "analyse:customs")
        mocks.access_denied = False  # the role is given the permission
        await decide(handle, "analyse:invoice", "retry", OPERATOR, "role fixed")
        await decide(handle, "analyse:customs", "retry", OPERATOR, "role fixed")
        result = await handle.result()

    assert (parked.last_error_type, parked.attempts) == (AWS_ACCESS_DENIED, 1)  # not retried, parked
    assert result.status == "COMPLETE"
    assert mocks.called(REJECT_DOCUMENT.name) == []  # not taken for the document's fault
