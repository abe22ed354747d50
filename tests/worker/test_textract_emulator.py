"""The dev stack's Textract emulator (moto has no Textract), through plain boto3.

boto3 reaches the emulator through ``AWS_ENDPOINT_URL_TEXTRACT`` and moto's S3 through
``AWS_ENDPOINT_URL`` (the ``emulators`` and ``resources`` fixtures), as the activities do; the
documents are the demo shipment's real PDFs.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pypdf
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from fpdf import FPDF
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

from activities.common.resources import Resources
from worker.devstack.emulators.textract import TextractEmulator
from worker.devstack.shipment_demo import customs_pdf, demo_key, invoice_pdf, render_pdf, seed_shipment_demo


@pytest.fixture
def emulator(emulators: Any) -> Iterator[TextractEmulator]:
    """The Textract emulator, its switches reset around the test."""
    textract: TextractEmulator = emulators.state.textract
    textract.reset()
    yield textract
    textract.reset()


@pytest.fixture
def textract(emulator: TextractEmulator) -> Any:
    """A Textract client that does not retry, so injected faults reach the test."""
    return boto3.client("textract", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def s3(resources: Resources) -> Any:
    """moto's S3."""
    return boto3.client("s3")


@pytest.fixture
def shipment(s3: Any, resources: Resources) -> str:
    """A shipment of this test's own with the demo documents uploaded by the demo seeding."""
    shipment_id = f"SHP-T-{uuid.uuid4().hex[:8]}"
    seed_shipment_demo(s3, resources.documents_bucket, shipment_id)
    return shipment_id


def _base(emulators: Any) -> str:
    return f"{emulators.state.url}/textract"


def _start(textract: Any, bucket: str, key: str, **extra: Any) -> str:
    answer = textract.start_document_analysis(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": key}}, FeatureTypes=["FORMS"], **extra
    )
    job_id: str = answer["JobId"]
    return job_id


def _finish(textract: Any, job_id: str, **extra: Any) -> dict[str, Any]:
    """Poll until the job leaves IN_PROGRESS; its last answer with every page's blocks."""
    for _ in range(20):
        answer: dict[str, Any] = textract.get_document_analysis(JobId=job_id, **extra)
        if answer["JobStatus"] != "IN_PROGRESS":
            break
    blocks = list(answer.get("Blocks", []))
    while "NextToken" in answer:
        answer = textract.get_document_analysis(JobId=job_id, NextToken=answer["NextToken"], **extra)
        blocks += answer["Blocks"]
    answer["Blocks"] = blocks
    return answer


def _key_values(blocks: list[dict[str, Any]]) -> dict[str, tuple[str, float]]:
    """``{key label: (value, confidence)}`` as a Textract consumer reads FORMS blocks."""
    by_id = {block["Id"]: block for block in blocks}

    def text(block: dict[str, Any]) -> str:
        ids = [i for rel in block.get("Relationships", []) if rel["Type"] == "CHILD" for i in rel["Ids"]]
        return " ".join(by_id[i]["Text"] for i in ids)

    pairs: dict[str, tuple[str, float]] = {}
    for block in blocks:
        if block["BlockType"] == "KEY_VALUE_SET" and "KEY" in block["EntityTypes"]:
            value_id = next(rel["Ids"][0] for rel in block["Relationships"] if rel["Type"] == "VALUE")
            pairs[text(block).removesuffix(":")] = (text(by_id[value_id]), block["Confidence"])
    return pairs


def test_demo_invoice_analysed_with_forms(textract: Any, resources: Resources, shipment: str) -> None:
    bucket = resources.documents_bucket
    job_id = _start(textract, bucket, demo_key("invoice", shipment))

    assert textract.get_document_analysis(JobId=job_id)["JobStatus"] == "IN_PROGRESS"
    answer = _finish(textract, job_id)

    assert answer["JobStatus"] == "SUCCEEDED"
    assert answer["DocumentMetadata"] == {"Pages": 1}
    blocks = answer["Blocks"]
    lines = [block["Text"] for block in blocks if block["BlockType"] == "LINE"]
    assert lines[:6] == [
        "INVOICE",
        "Invoice No: INV-2026-0147",
        "Invoice Date: 2026-11-28",
        "BILL TO",
        "Northwind Traders",
        "12 Harbour Road, 3011 AB Rotterdam, Netherlands",
    ]
    assert lines[-2:] == ["Total: 12,480.00", "Currency: USD"]
    pairs = _key_values(blocks)
    assert {key: value for key, (value, _) in pairs.items()} == {
        "Invoice No": "INV-2026-0147",
        "Invoice Date": "2026-11-28",
        "Total": "12,480.00",
        "Currency": "USD",
    }
    assert all(97.0 <= score <= 99.9 for _, score in pairs.values())
    # Every relationship points at a block of the answer; geometry is normalised.
    ids = {block["Id"] for block in blocks}
    assert all(i in ids for block in blocks for rel in block.get("Relationships", []) for i in rel["Ids"])
    page = blocks[0]
    assert page["BlockType"] == "PAGE"
    assert all(0 <= block["Geometry"]["BoundingBox"]["Top"] <= 1 for block in blocks)
    # The same document analysed again reads the same (deterministic confidences).
    again = _finish(textract, _start(textract, bucket, demo_key("invoice", shipment)))
    assert _key_values(again["Blocks"]) == pairs


def test_demo_customs_form(textract: Any, resources: Resources, shipment: str) -> None:
    answer = _finish(textract, _start(textract, resources.documents_bucket, demo_key("customs", shipment)))

    values = {key: value for key, (value, _) in _key_values(answer["Blocks"]).items()}
    assert values["Authorisation No"] == "CA-77812"
    assert values["Declared Value"] == "12,480.00"
    assert values["HS Codes"] == "8471.30, 8473.30"
    assert values["Exporter"] == "Northwind Traders Ltd"


def test_client_request_token_starts_one_job(
    textract: Any, emulator: TextractEmulator, emulators: Any, resources: Resources, shipment: str
) -> None:
    bucket, key = resources.documents_bucket, demo_key("invoice", shipment)
    token = f"shipment-{shipment}-invoice"

    first = _start(textract, bucket, key, ClientRequestToken=token)
    second = _start(textract, bucket, key, ClientRequestToken=token)

    assert first == second
    assert [job["JobId"] for job in emulator.jobs_for(bucket, key)] == [first]
    stats = httpx.get(f"{_base(emulators)}/_emulator/stats").json()
    assert {"JobId": first, "ClientRequestToken": token, "Bucket": bucket, "Name": key, "JobStatus": "IN_PROGRESS"} in (
        stats["jobs"]
    )
    with pytest.raises(ClientError) as refused:
        _start(textract, bucket, demo_key("customs", shipment), ClientRequestToken=token)
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert len(emulator.jobs_for(bucket, demo_key("customs", shipment))) == 0


def test_throttle_switch(
    textract: Any, emulator: TextractEmulator, emulators: Any, resources: Resources, shipment: str
) -> None:
    bucket, key = resources.documents_bucket, demo_key("invoice", shipment)
    httpx.post(f"{_base(emulators)}/_emulator/faults", json={"count": 2}).raise_for_status()

    for _ in range(2):
        with pytest.raises(ClientError) as throttled:
            _start(textract, bucket, key)
        assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert emulator.jobs_for(bucket, key) == []
    job_id = _start(textract, bucket, key)

    # Until cleared, and only the operation named.
    emulator.inject(0, forever=True, operation="GetDocumentAnalysis")
    for _ in range(3):
        with pytest.raises(ClientError) as throttled:
            textract.get_document_analysis(JobId=job_id)
        assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    _start(textract, bucket, key)
    emulator.inject(0)
    assert _finish(textract, job_id)["JobStatus"] == "SUCCEEDED"


def test_documents_textract_refuses(textract: Any, s3: Any, resources: Resources) -> None:
    bucket, folder = resources.documents_bucket, f"tests/{uuid.uuid4().hex}"
    s3.put_object(Bucket=bucket, Key=f"{folder}/invoice.docx", Body=b"PK\x03\x04 not a pdf")
    s3.put_object(Bucket=bucket, Key=f"{folder}/broken.pdf", Body=b"%PDF-1.7\nthis is not a PDF body")

    for key, code in (
        (f"{folder}/invoice.docx", "UnsupportedDocumentException"),
        (f"{folder}/broken.pdf", "BadDocumentException"),
        (f"{folder}/missing.pdf", "InvalidS3ObjectException"),
    ):
        with pytest.raises(ClientError) as refused:
            _start(textract, bucket, key)
        assert refused.value.response["Error"]["Code"] == code, key
    with pytest.raises(ClientError) as unknown:
        textract.get_document_analysis(JobId="0" * 64)
    assert unknown.value.response["Error"]["Code"] == "InvalidJobIdException"


def test_paging_with_next_token(textract: Any, resources: Resources, shipment: str) -> None:
    job_id = _start(textract, resources.documents_bucket, demo_key("invoice", shipment))
    whole = _finish(textract, job_id)

    paged = _finish(textract, job_id, MaxResults=7)

    assert len(whole["Blocks"]) > 7
    assert paged["Blocks"] == whole["Blocks"]
    first = textract.get_document_analysis(JobId=job_id, MaxResults=7)
    assert len(first["Blocks"]) == 7 and "NextToken" in first
    with pytest.raises(ClientError) as invalid:
        textract.get_document_analysis(JobId=job_id, NextToken="bm90LWEtdG9rZW4=")
    assert invalid.value.response["Error"]["Code"] == "InvalidParameterException"


def test_pdf_without_text_has_a_page_and_no_lines(textract: Any, s3: Any, resources: Resources) -> None:
    blank = FPDF()
    blank.add_page()
    key = f"tests/{uuid.uuid4().hex}/scan.pdf"
    s3.put_object(Bucket=resources.documents_bucket, Key=key, Body=bytes(blank.output()))

    answer = _finish(textract, _start(textract, resources.documents_bucket, key))

    assert answer["JobStatus"] == "SUCCEEDED"
    assert [block["BlockType"] for block in answer["Blocks"]] == ["PAGE"]


def test_failed_jobs_slow_polls_and_doubtful_keys(
    textract: Any, emulator: TextractEmulator, emulators: Any, resources: Resources, shipment: str
) -> None:
    bucket, key = resources.documents_bucket, demo_key("invoice", shipment)
    switches = httpx.post(
        f"{_base(emulators)}/_emulator/jobs",
        json={"fail_jobs": 1, "reason": "page 1 is unreadable", "polls_in_progress": 3},
    ).json()
    assert switches["fail_jobs"] == 1 and switches["polls_in_progress"] == 3

    failing = _start(textract, bucket, key)
    statuses = [textract.get_document_analysis(JobId=failing)["JobStatus"] for _ in range(4)]
    assert statuses == ["IN_PROGRESS"] * 3 + ["FAILED"]
    assert textract.get_document_analysis(JobId=failing)["StatusMessage"] == "page 1 is unreadable"

    emulator.configure_jobs(polls_in_progress=0, confidence_overrides={"Invoice No": 81.5})
    pairs = _key_values(_finish(textract, _start(textract, bucket, key))["Blocks"])
    assert pairs["Invoice No"] == ("INV-2026-0147", 81.5)


def test_acroform_fields_are_key_values(textract: Any, s3: Any, resources: Resources) -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(render_pdf(["# BOOKING FORM"]))))
    field = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("booking_ref"),
            NameObject("/TU"): TextStringObject("Booking Ref"),
            NameObject("/V"): TextStringObject("BK-4410"),
            NameObject("/Rect"): ArrayObject([FloatObject(n) for n in (100, 600, 300, 620)]),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(field)])
    data = io.BytesIO()
    writer.write(data)
    key = f"tests/{uuid.uuid4().hex}/form.pdf"
    s3.put_object(Bucket=resources.documents_bucket, Key=key, Body=data.getvalue())

    answer = _finish(textract, _start(textract, resources.documents_bucket, key))

    assert {k: v for k, (v, _) in _key_values(answer["Blocks"]).items()} == {"Booking Ref": "BK-4410"}


def test_demo_seeding_is_deterministic_and_idempotent(s3: Any, resources: Resources) -> None:
    assert invoice_pdf() == invoice_pdf() and customs_pdf() == customs_pdf()
    shipment_id = f"SHP-T-{uuid.uuid4().hex[:8]}"

    written = seed_shipment_demo(s3, resources.documents_bucket, shipment_id)
    again = seed_shipment_demo(s3, resources.documents_bucket, shipment_id)

    assert written == [f"documents-inbound/{shipment_id}/invoice.pdf", f"documents-inbound/{shipment_id}/customs.pdf"]
    assert again == []
    stored = s3.get_object(Bucket=resources.documents_bucket, Key=written[0])
    assert stored["Body"].read() == invoice_pdf()
    assert stored["ContentType"] == "application/pdf"


def test_restarted_emulator_still_answers_for_its_jobs(tmp_path: Any, resources: Resources, shipment: str) -> None:
    state = tmp_path / "textract.json"
    location = {"S3Object": {"Bucket": resources.documents_bucket, "Name": demo_key("invoice", shipment)}}
    request = {"DocumentLocation": location, "FeatureTypes": ["FORMS"], "ClientRequestToken": "restart-1"}
    job_id = TextractEmulator(state_file=state).start(request)["JobId"]

    restarted = TextractEmulator(state_file=state)

    assert restarted.start(request)["JobId"] == job_id
    assert restarted.get({"JobId": job_id})["JobStatus"] == "IN_PROGRESS"
    assert restarted.get({"JobId": job_id})["JobStatus"] == "SUCCEEDED"
