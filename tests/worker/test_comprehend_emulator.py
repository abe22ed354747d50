"""The dev stack's Comprehend emulator (moto has no entity detection), through plain boto3.

boto3 reaches it through ``AWS_ENDPOINT_URL_COMPREHEND`` (the ``emulators`` fixture); the
demo invoice's text is what the Textract emulator reads from the demo PDF.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from worker.devstack.emulators.comprehend import HEADING_SCORE, ComprehendEmulator
from worker.devstack.emulators.textract_reader import read_pdf
from worker.devstack.shipment_demo import customs_pdf, invoice_pdf


@pytest.fixture
def emulator(emulators: Any) -> Iterator[ComprehendEmulator]:
    """The Comprehend emulator, its switches reset around the test."""
    comprehend: ComprehendEmulator = emulators.state.comprehend
    comprehend.reset()
    yield comprehend
    comprehend.reset()


@pytest.fixture
def comprehend(emulator: ComprehendEmulator) -> Any:
    """A Comprehend client that does not retry, so injected faults reach the test."""
    return boto3.client("comprehend", config=Config(retries={"total_max_attempts": 1}))


def _text(pdf: bytes) -> str:
    """The document's lines in reading order, as the pipeline's text.txt holds them."""
    return "\n".join(line.text for page in read_pdf(pdf) for line in page.lines)


def _entities(comprehend: Any, text: str) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = comprehend.detect_entities(Text=text, LanguageCode="en")["Entities"]
    return entities


def test_demo_invoice_companies_and_addresses(comprehend: Any) -> None:
    text = _text(invoice_pdf())

    entities = _entities(comprehend, text)

    organisations = [e for e in entities if e["Type"] == "ORGANIZATION"]
    assert [e["Text"] for e in organisations] == ["Northwind Traders", "Contoso Logistics Ltd"]
    assert organisations[0]["Score"] == HEADING_SCORE == 0.941
    assert organisations[1]["Score"] >= 0.98
    locations = [e for e in entities if e["Type"] == "LOCATION"]
    assert [e["Text"] for e in locations] == [
        "12 Harbour Road, 3011 AB Rotterdam, Netherlands",
        "400 Pier Avenue, Seattle, WA 98101, United States",
    ]
    assert all(0.96 <= e["Score"] <= 0.99 for e in locations)
    assert {"Type": "DATE", "Text": "2026-11-28"}.items() <= next(e for e in entities if e["Type"] == "DATE").items()
    assert "12,480.00" in [e["Text"] for e in entities if e["Type"] == "QUANTITY"]
    # Offsets are into the text sent; entities come in text order; answers are deterministic.
    assert all(text[e["BeginOffset"] : e["EndOffset"]] == e["Text"] for e in entities)
    assert [e["BeginOffset"] for e in entities] == sorted(e["BeginOffset"] for e in entities)
    assert _entities(comprehend, text) == entities


def test_demo_customs_exporter(comprehend: Any) -> None:
    entities = _entities(comprehend, _text(customs_pdf()))

    exporter = next(e for e in entities if e["Type"] == "ORGANIZATION")
    assert exporter["Text"] == "Northwind Traders Ltd"
    assert exporter["Score"] >= 0.98


def test_recogniser_rules(comprehend: Any) -> None:
    text = (
        "SOLD TO\n"
        "Fabrikam\n"
        "Keizersgracht 120\n"
        "1015 CW Amsterdam\n"
        "Netherlands\n"
        "\n"
        "Consignee: Adatum\n"
        "Tailspin Toys GmbH\n"
        "Litware\n"
        "Date: 28 November 2026"
    )

    found = [(e["Type"], e["Text"], e["Score"]) for e in _entities(comprehend, text)]

    assert found[0] == ("ORGANIZATION", "Fabrikam", 0.941)
    assert found[1][:2] == ("LOCATION", "Keizersgracht 120\n1015 CW Amsterdam\nNetherlands")
    assert found[2] == ("ORGANIZATION", "Adatum", 0.941)
    assert found[3][:2] == ("ORGANIZATION", "Tailspin Toys GmbH") and found[3][2] >= 0.98
    # A bare name not under a heading is no company.
    assert "Litware" not in [text for _, text, _ in found]
    assert found[-1][:2] == ("DATE", "28 November 2026")


def test_limits_and_languages(comprehend: Any) -> None:
    with pytest.raises(ClientError) as too_big:
        _entities(comprehend, "Contoso Logistics Ltd\n" * 5000)
    assert too_big.value.response["Error"]["Code"] == "TextSizeLimitExceededException"
    with pytest.raises(ClientError) as language:
        comprehend.detect_entities(Text="Contoso Logistics Ltd", LanguageCode="nl")
    assert language.value.response["Error"]["Code"] == "UnsupportedLanguageException"


def test_throttle_and_score_switches(comprehend: Any, emulator: ComprehendEmulator, emulators: Any) -> None:
    base = f"{emulators.state.url}/comprehend"
    before = httpx.get(f"{base}/_emulator/stats").json()
    httpx.post(f"{base}/_emulator/faults", json={"count": 1}).raise_for_status()

    with pytest.raises(ClientError) as throttled:
        _entities(comprehend, "Contoso Logistics Ltd")
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    httpx.post(f"{base}/_emulator/scores", json={"Contoso Logistics Ltd": 0.5}).raise_for_status()
    assert _entities(comprehend, "Contoso Logistics Ltd")[0]["Score"] == 0.5

    after = httpx.get(f"{base}/_emulator/stats").json()
    assert after["requests"] - before["requests"] == 2
    assert after["detect_entities"] - before["detect_entities"] == 1
