"""The declared field rules of each document type, as pure functions over what the analysis found."""

from __future__ import annotations

import pytest

from activities.documents.entities import chunks
from activities.documents.fields import (
    Entity,
    Extraction,
    KeyValue,
    NotReadable,
    check_document,
    normalise_amount,
    normalise_codes,
    normalise_currency,
    normalise_date,
)
from activities.documents.textract import key_values_of, lines_of

INVOICE_TEXT = "\n".join(
    [
        "INVOICE",
        "Invoice No: INV-2026-0147",
        "Invoice Date: 28/11/2026",
        "BILL TO",
        "Northwind Traders",
        "12 Harbour Road, Leith",
        "SHIP TO",
        "Contoso Logistics Ltd",
        "4 Dock Street, Rotterdam",
        "Total: 12,480.00",
    ]
)


def _offset(text: str, part: str) -> int:
    return INVOICE_TEXT.index(part) if text is INVOICE_TEXT else text.index(part)


def invoice(**overrides: float) -> Extraction:
    """The demo invoice as Textract and Comprehend see it; confidences may be overridden by key."""
    kv = [
        KeyValue("Invoice No:", "INV-2026-0147", overrides.get("Invoice No", 0.991)),
        KeyValue("Invoice Date:", "28/11/2026", 0.985),
        KeyValue("Total:", "12,480.00", 0.978),
        KeyValue("Currency:", "usd", 0.99),
    ]
    entities = [
        Entity(
            "ORGANIZATION", "Northwind Traders", overrides.get("billing", 0.941), _offset(INVOICE_TEXT, "Northwind")
        ),
        Entity("LOCATION", "12 Harbour Road, Leith", 0.97, _offset(INVOICE_TEXT, "12 Harbour")),
        Entity("ORGANIZATION", "Contoso Logistics Ltd", 0.991, _offset(INVOICE_TEXT, "Contoso")),
        Entity("LOCATION", "4 Dock Street, Rotterdam", 0.975, _offset(INVOICE_TEXT, "4 Dock")),
        Entity("QUANTITY", "12,480.00", 0.9, _offset(INVOICE_TEXT, "12,480")),
    ]
    return Extraction(kv, INVOICE_TEXT, entities)


def test_invoice_fields_are_found_normalised_and_the_unsure_one_goes_to_review() -> None:
    fields, to_review = check_document("invoice", invoice(), 0.95)
    by_name = {f.name: f for f in fields}
    assert [f.name for f in fields] == [
        "invoice_number",
        "invoice_date",
        "total",
        "currency",
        "billing_company",
        "billing_address",
        "shipping_company",
        "shipping_address",
    ]
    assert by_name["invoice_number"].value == "INV-2026-0147"
    assert by_name["invoice_number"].source == 'form key "Invoice No" (page 1)'
    assert by_name["invoice_date"].value == "2026-11-28"
    assert by_name["total"].value == "12480.00"
    assert by_name["currency"].value == "USD"
    assert by_name["billing_company"].value == "Northwind Traders"
    assert by_name["billing_company"].source == 'entity ORGANIZATION #1 "Northwind Traders"'
    assert by_name["shipping_company"].value == "Contoso Logistics Ltd"
    assert by_name["shipping_address"].value == "4 Dock Street, Rotterdam"
    assert to_review == ["billing_company"]
    assert by_name["billing_company"].reason == "confidence 0.941 below 0.95"
    assert by_name["billing_company"].confidence == pytest.approx(0.941)
    assert all(f.reason == "" for f in fields if f.name != "billing_company")


def test_at_the_threshold_nothing_is_asked() -> None:
    _, to_review = check_document("invoice", invoice(billing=0.95), 0.95)
    assert to_review == []


def test_a_missing_field_is_asked_with_no_value() -> None:
    extraction = invoice()
    without_number = Extraction(
        [kv for kv in extraction.key_values if not kv.key.startswith("Invoice No")],
        extraction.text,
        extraction.entities,
    )
    fields, to_review = check_document("invoice", without_number, 0.95)
    number = next(f for f in fields if f.name == "invoice_number")
    assert (number.value, number.confidence, number.reason) == ("", None, "not found")
    assert to_review == ["invoice_number", "billing_company"]


def test_the_currency_beside_the_total_when_no_currency_key() -> None:
    extraction = invoice()
    kv = [k for k in extraction.key_values if k.key != "Currency:"]
    kv = [KeyValue("Total Due:", "USD 12,480.00", 0.98) if k.key == "Total:" else k for k in kv]
    fields, _ = check_document("invoice", Extraction(kv, extraction.text, extraction.entities), 0.95)
    by_name = {f.name: f for f in fields}
    assert by_name["currency"].value == "USD"
    assert by_name["currency"].source == 'currency beside form key "Total Due" (page 1)'
    assert by_name["total"].value == "12480.00"


def test_customs_fields_and_the_exporter_falls_back_to_the_first_company() -> None:
    text = "CUSTOMS AUTHORISATION\nNorthwind Traders Ltd\nAuthorisation No: CA-77812"
    kv = [
        KeyValue("Authorisation No", "CA-77812", 0.99),
        KeyValue("Declared Value", "12,480.00", 0.98),
        KeyValue("HS Codes", "8471.30,8473.30", 0.97, page=2),
    ]
    entities = [Entity("ORGANIZATION", "Northwind Traders Ltd", 0.995, text.index("Northwind"))]
    fields, to_review = check_document("customs", Extraction(kv, text, entities), 0.95)
    by_name = {f.name: f for f in fields}
    assert by_name["authorisation_number"].value == "CA-77812"
    assert by_name["declared_value"].value == "12480.00"
    assert by_name["hs_codes"].value == "8471.30, 8473.30"
    assert by_name["hs_codes"].source == 'form key "HS Codes" (page 2)'
    assert by_name["exporter"].value == "Northwind Traders Ltd"
    assert by_name["exporter"].source == 'entity ORGANIZATION #1 "Northwind Traders Ltd"'
    assert to_review == []


def test_a_value_that_is_not_readable_as_its_kind_is_asked_with_the_reason() -> None:
    kv = [
        KeyValue("Authorisation No", "CA-1", 0.99),
        KeyValue("Declared Value", "about twelve thousand", 0.99),
        KeyValue("HS Codes", "8471.30", 0.99),
        KeyValue("Exporter", "Northwind Traders Ltd", 0.99),
    ]
    fields, to_review = check_document("customs", Extraction(kv, "", []), 0.95)
    declared = next(f for f in fields if f.name == "declared_value")
    assert to_review == ["declared_value"]
    assert declared.value == "about twelve thousand"
    assert declared.reason == "not an amount: 'about twelve thousand'"


def test_control_characters_are_dropped_and_an_overlong_value_is_cut_and_asked() -> None:
    kv = [
        KeyValue("Authorisation No", "CA-\x1b[31m1\x85", 0.99),
        KeyValue("Declared Value", "1" * 600, 0.99),
        KeyValue("HS Codes", "8471.30", 0.99),
        KeyValue("Exporter", "Northwind Traders Ltd", 0.99),
    ]
    fields, to_review = check_document("customs", Extraction(kv, "", []), 0.95)
    by_name = {f.name: f for f in fields}
    assert by_name["authorisation_number"].value == "CA- [31m1"  # ESC and NEL gone, whitespace collapsed
    assert to_review == ["declared_value"]
    declared = by_name["declared_value"]
    assert declared.value == "1" * 500 and declared.reason == "longer than 500 characters (600): cut"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2026-11-28", "2026-11-28"),
        ("2026/11/28", "2026-11-28"),
        ("28.11.2026", "2026-11-28"),
        ("28/11/2026", "2026-11-28"),
        ("11/28/2026", "2026-11-28"),
        ("28 Nov 2026", "2026-11-28"),
        ("November 28, 2026", "2026-11-28"),
        ("5/5/2026", "2026-05-05"),
    ],
)
def test_dates_are_normalised_to_iso(raw: str, iso: str) -> None:
    assert normalise_date(raw) == iso


@pytest.mark.parametrize("raw", ["03/04/2026", "31/02/2026", "next Tuesday"])
def test_ambiguous_impossible_or_unreadable_dates_are_refused(raw: str) -> None:
    with pytest.raises(NotReadable):
        normalise_date(raw)


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("12,480.00", "12480.00"),
        ("12480", "12480.00"),
        ("USD 12,480.00", "12480.00"),
        ("$12,480.5", "12480.50"),
        ("12.480,00 €", "12480.00"),
        ("1,234,567.89", "1234567.89"),
        ("12,48", "12.48"),
    ],
)
def test_amounts_are_normalised_to_plain_decimals(raw: str, plain: str) -> None:
    assert normalise_amount(raw) == plain


@pytest.mark.parametrize("raw", ["-12.00", "12.3456", "12.345", "twelve"])
def test_negative_overprecise_or_unreadable_amounts_are_refused(raw: str) -> None:
    with pytest.raises(NotReadable):
        normalise_amount(raw)


def test_currencies_and_codes_are_normalised() -> None:
    assert normalise_currency(" eur ") == "EUR"
    assert normalise_currency("€") == "EUR"
    assert normalise_codes("8471.30; 8473.30  8504") == "8471.30, 8473.30, 8504"
    with pytest.raises(NotReadable):
        normalise_codes("8471.30, laptops")


def test_textract_blocks_become_lines_in_reading_order_and_key_value_pairs() -> None:
    blocks = [
        {"BlockType": "PAGE", "Id": "p1", "Page": 1},
        {"BlockType": "LINE", "Id": "l1", "Page": 1, "Text": "Invoice No: INV-1"},
        {"BlockType": "WORD", "Id": "w1", "Page": 1, "Text": "Invoice", "Confidence": 99.0},
        {"BlockType": "WORD", "Id": "w2", "Page": 1, "Text": "No:", "Confidence": 99.0},
        {"BlockType": "WORD", "Id": "w3", "Page": 1, "Text": "INV-1", "Confidence": 98.0},
        {
            "BlockType": "KEY_VALUE_SET",
            "Id": "k1",
            "Page": 1,
            "EntityTypes": ["KEY"],
            "Confidence": 97.5,
            "Relationships": [{"Type": "VALUE", "Ids": ["v1"]}, {"Type": "CHILD", "Ids": ["w1", "w2"]}],
        },
        {
            "BlockType": "KEY_VALUE_SET",
            "Id": "v1",
            "Page": 1,
            "EntityTypes": ["VALUE"],
            "Confidence": 96.0,
            "Relationships": [{"Type": "CHILD", "Ids": ["w3"]}],
        },
        {"BlockType": "LINE", "Id": "l2", "Page": 2, "Text": "page two"},
    ]
    assert lines_of(blocks) == ["Invoice No: INV-1", "page two"]
    assert key_values_of(blocks) == [{"key": "Invoice No:", "value": "INV-1", "confidence": 0.96, "page": 1}]


def test_text_is_chunked_at_line_boundaries_under_the_limit_with_offsets() -> None:
    text = "".join(f"line {n} é\n" for n in range(100)) + "x" * 50
    pieces = chunks(text, limit=120)
    assert all(len(piece.encode()) <= 120 for _, piece in pieces)
    assert "".join(piece for _, piece in pieces) == text
    for at, piece in pieces:
        assert text[at : at + len(piece)] == piece
        assert at == 0 or text[at - 1] == "\n"
    long_line = "é" * 100
    cut = chunks(long_line, limit=51)
    assert "".join(piece for _, piece in cut) == long_line
    assert all(len(piece.encode()) <= 51 for _, piece in cut)
