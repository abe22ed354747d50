"""The declared fields of each document type and how they are found (pure: no I/O).

Each required field is a :class:`FieldRule`: a name, a label, a kind (how its value is
normalised and how a reviewer's answer is validated) and finders tried in order: a form key
Textract paired with a value (``Invoice No: INV-2026-0147``), the n-th distinct entity of a
type Comprehend detected (the article: the first company is the billing company, the second
the shipping one), or a currency code written beside the total.

:func:`check_document` applies a type's rules to what the analysis found and returns one
:class:`FormField` per field and the names a reviewer must answer: not found, found below the
confidence threshold, or found but not readable as its kind.

Values are normalised so the record is uniform whatever the document wrote: dates to ISO
(``28/11/2026`` -> ``2026-11-28``), amounts to plain decimals (``12,480.00`` -> ``12480.00``),
currency codes upper-case, HS codes as ``8471.30, 8473.30``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from activities.common.contracts import FormField

# --- What the analysis found ----------------------------------------------------------


@dataclass(frozen=True)
class KeyValue:
    """A form key and its value as Textract paired them (key_values.json)."""

    key: str
    value: str
    confidence: float
    """0-1 (Textract's 0-100 divided by 100)."""
    page: int = 1


@dataclass(frozen=True)
class Entity:
    """An entity Comprehend detected in the document's text (entities.json)."""

    type: str
    text: str
    score: float
    begin: int = 0
    end: int = 0


@dataclass(frozen=True)
class Extraction:
    """Everything the checks read about one document."""

    key_values: list[KeyValue] = field(default_factory=list)
    text: str = ""
    entities: list[Entity] = field(default_factory=list)

    @staticmethod
    def from_json(
        key_values: Sequence[Mapping[str, Any]], text: str, entities: Sequence[Mapping[str, Any]]
    ) -> Extraction:
        """Read the staged outputs (key_values.json, text.txt, entities.json's list)."""
        return Extraction(
            key_values=[
                KeyValue(
                    key=str(kv.get("key", "")),
                    value=str(kv.get("value", "")),
                    confidence=float(kv.get("confidence", 0.0)),
                    page=int(kv.get("page", 1)),
                )
                for kv in key_values
            ],
            text=text,
            entities=[
                Entity(
                    type=str(e.get("Type", "")),
                    text=str(e.get("Text", "")),
                    score=float(e.get("Score", 0.0)),
                    begin=int(e.get("BeginOffset", 0)),
                    end=int(e.get("EndOffset", 0)),
                )
                for e in entities
            ],
        )


@dataclass(frozen=True)
class Found:
    """A raw value a finder found, how sure the service was, and where."""

    value: str
    confidence: float
    source: str


# --- Finders --------------------------------------------------------------------------


class Finder(Protocol):
    def find(self, extraction: Extraction) -> Found | None: ...


def _key_of(text: str) -> str:
    """A form key for comparison: case-folded, spaces collapsed, trailing colon dropped."""
    return " ".join(text.replace(":", " ").split()).casefold()


@dataclass(frozen=True)
class FormKey:
    """The value of the first form key with one of these names (in document order)."""

    names: tuple[str, ...]

    def find(self, extraction: Extraction) -> Found | None:
        wanted = {_key_of(name) for name in self.names}
        for kv in extraction.key_values:
            if _key_of(kv.key) in wanted and kv.value.strip():
                label = kv.key.strip().rstrip(":").strip()
                return Found(kv.value.strip(), kv.confidence, f'form key "{label}" (page {kv.page})')
        return None


@dataclass(frozen=True)
class NthEntity:
    """The n-th (1-based) distinct entity of a type, in the order of the text."""

    type: str
    n: int

    def find(self, extraction: Extraction) -> Found | None:
        seen: list[str] = []
        for entity in sorted(extraction.entities, key=lambda e: e.begin):
            if entity.type != self.type:
                continue
            text = " ".join(entity.text.split())
            if not text or text.casefold() in seen:
                continue
            seen.append(text.casefold())
            if len(seen) == self.n:
                return Found(text, entity.score, f'entity {self.type} #{self.n} "{text}"')
        return None


@dataclass(frozen=True)
class CodeBeside:
    """A currency code written in the value of one of these form keys (``USD 12,480.00``),
    else on a text line that names one of them (``Total Due  12,480.00 EUR``)."""

    names: tuple[str, ...]

    def find(self, extraction: Extraction) -> Found | None:
        wanted = {_key_of(name) for name in self.names}
        for kv in extraction.key_values:
            if _key_of(kv.key) in wanted:
                code = _currency_in(kv.value)
                if code:
                    label = kv.key.strip().rstrip(":").strip()
                    return Found(code, kv.confidence, f'currency beside form key "{label}" (page {kv.page})')
        for number, line in enumerate(extraction.text.splitlines(), start=1):
            if any(re.search(rf"\b{re.escape(name)}\b", line, re.IGNORECASE) for name in self.names):
                code = _currency_in(line)
                if code:
                    # No service confidence for a code read off a text line: the lowest a found
                    # value can have without review would overstate it, so say so.
                    return Found(code, TEXT_LINE_CONFIDENCE, f"currency on text line {number}")
        return None


TEXT_LINE_CONFIDENCE = 0.9
"""Confidence given to a value read from a plain text line (no service scored it): below the
usual threshold, so a reviewer confirms it."""


# --- Rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    """One required field of a document type."""

    name: str
    label: str
    kind: str
    """text, date, amount, currency or codes (FORM_FIELD_KINDS)."""
    finders: tuple[Finder, ...]


INVOICE_RULES: tuple[FieldRule, ...] = (
    FieldRule("invoice_number", "Invoice number", "text", (FormKey(("Invoice No", "Invoice Number", "Invoice #")),)),
    FieldRule("invoice_date", "Invoice date", "date", (FormKey(("Invoice Date", "Date")),)),
    FieldRule("total", "Total", "amount", (FormKey(("Total", "Total Due", "Amount Due")),)),
    FieldRule(
        "currency",
        "Currency",
        "currency",
        (FormKey(("Currency",)), CodeBeside(("Total", "Total Due", "Amount Due"))),
    ),
    FieldRule("billing_company", "Billing company", "text", (NthEntity("ORGANIZATION", 1),)),
    FieldRule("billing_address", "Billing address", "text", (NthEntity("LOCATION", 1),)),
    FieldRule("shipping_company", "Shipping company", "text", (NthEntity("ORGANIZATION", 2),)),
    FieldRule("shipping_address", "Shipping address", "text", (NthEntity("LOCATION", 2),)),
)

CUSTOMS_RULES: tuple[FieldRule, ...] = (
    FieldRule(
        "authorisation_number",
        "Authorisation number",
        "text",
        (FormKey(("Authorisation No", "Authorization No", "Authorisation Number")),),
    ),
    FieldRule("declared_value", "Declared value", "amount", (FormKey(("Declared Value",)),)),
    FieldRule("hs_codes", "HS codes", "codes", (FormKey(("HS Codes", "HS Code")),)),
    FieldRule("exporter", "Exporter", "text", (FormKey(("Exporter",)), NthEntity("ORGANIZATION", 1))),
)

RULES: dict[str, tuple[FieldRule, ...]] = {"invoice": INVOICE_RULES, "customs": CUSTOMS_RULES}
"""The required fields per document type."""


def rules_for(doc_type: str) -> tuple[FieldRule, ...]:
    """The rules of a document type (KeyError for a type nobody declared)."""
    return RULES[doc_type]


# --- Normalisation --------------------------------------------------------------------


class NotReadable(ValueError):
    """A found value that is not readable as its kind; the message says why (shown to the reviewer)."""


_ISO_4217 = (
    "AED ARS AUD BGN BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR ISK JPY KES KRW "
    "MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RSD SAR SEK SGD THB TRY TWD UAH USD VND ZAR"
)
CURRENCY_CODES = frozenset(_ISO_4217.split())
"""ISO 4217 codes recognised when a currency is read off a line (3 capitals alone could be any word)."""
CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "US$": "USD"}

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}


def _currency_in(text: str) -> str:
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in text:
            return code
    for match in re.finditer(r"\b[A-Z]{3}\b", text):
        if match[0] in CURRENCY_CODES:
            return match[0]
    return ""


def normalise_text(raw: str) -> str:
    """Whitespace collapsed."""
    value = " ".join(raw.split())
    if not value:
        raise NotReadable("empty")
    return value


def normalise_date(raw: str) -> str:
    """An ISO date (YYYY-MM-DD) from the usual ways documents write one.

    ``2026-11-28``, ``2026/11/28``, ``28.11.2026``, ``28/11/2026``, ``11/28/2026``, ``28 Nov 2026``,
    ``November 28, 2026``. A day/month order that cannot be told (``03/04/2026``) is refused:
    a reviewer says which it is.
    """
    text = " ".join(raw.replace(",", " ").split())
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if match:
        return _iso(int(match[1]), int(match[2]), int(match[3]), raw)
    match = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", text)
    if match:
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if first > 12 >= second:
            return _iso(year, second, first, raw)
        if second > 12 >= first:
            return _iso(year, first, second, raw)
        if first == second:
            return _iso(year, first, second, raw)
        raise NotReadable(f"ambiguous date {raw.strip()!r} (day/month or month/day?)")
    match = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]+)\.? (\d{4})", text)
    if match and match[2].lower() in _MONTHS:
        return _iso(int(match[3]), _MONTHS[match[2].lower()], int(match[1]), raw)
    match = re.fullmatch(r"([A-Za-z]+)\.? (\d{1,2})(?:st|nd|rd|th)? (\d{4})", text)
    if match and match[1].lower() in _MONTHS:
        return _iso(int(match[3]), _MONTHS[match[1].lower()], int(match[2]), raw)
    raise NotReadable(f"not a date: {raw.strip()!r}")


def _iso(year: int, month: int, day: int, raw: str) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise NotReadable(f"not a real date: {raw.strip()!r}") from None


def normalise_amount(raw: str) -> str:
    """A plain non-negative decimal with two places: ``12,480.00`` / ``USD 12480`` / ``12.480,00 €``
    -> ``12480.00``. More than two decimals, a negative, no number at all, or a lone dot before
    three digits (``12.345``: twelve thousand or twelve?) is refused."""
    text = raw.strip()
    for symbol in (*CURRENCY_SYMBOLS, "$"):
        text = text.replace(symbol, " ")
    text = re.sub(r"\b[A-Za-z]{3}\b", " ", text).strip()
    text = text.replace(" ", "").replace("\u00a0", "").replace("'", "")
    if text.startswith("-") or (text.startswith("(") and text.endswith(")")):
        raise NotReadable(f"negative amount: {raw.strip()!r}")
    if not re.fullmatch(r"\d[\d.,]*", text):
        raise NotReadable(f"not an amount: {raw.strip()!r}")
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
    elif "," in text:
        decimal_mark = "," if text.count(",") == 1 and re.search(r",\d{1,2}$", text) else ""
    elif "." in text:
        if re.fullmatch(r"\d{1,3}\.\d{3}", text):
            raise NotReadable(f"ambiguous amount {raw.strip()!r} (thousands or decimals?)")
        decimal_mark = "." if text.count(".") == 1 else ""
    else:
        decimal_mark = ""
    grouping = {",", "."} - {decimal_mark}
    for mark in grouping:
        text = text.replace(mark, "")
    text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise NotReadable(f"not an amount: {raw.strip()!r}") from None
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        raise NotReadable(f"more than two decimals: {raw.strip()!r}")
    return str(amount.quantize(Decimal("0.01")))


def normalise_currency(raw: str) -> str:
    """An ISO 4217 code: ``usd`` -> ``USD``, ``€`` -> ``EUR``."""
    text = raw.strip()
    if text.upper() in CURRENCY_CODES or re.fullmatch(r"[A-Za-z]{3}", text):
        return text.upper()
    code = _currency_in(text.upper()) or _currency_in(text)
    if code:
        return code
    raise NotReadable(f"not a currency code: {raw.strip()!r}")


def normalise_codes(raw: str) -> str:
    """Codes (HS codes: digits and dots) as ``8471.30, 8473.30``."""
    items = [item for item in re.split(r"[,;\s]+", raw.strip()) if item]
    if not items or not all(re.fullmatch(r"\d[\d.]*", item) for item in items):
        raise NotReadable(f"not a list of codes: {raw.strip()!r}")
    return ", ".join(items)


NORMALISERS = {
    "text": normalise_text,
    "date": normalise_date,
    "amount": normalise_amount,
    "currency": normalise_currency,
    "codes": normalise_codes,
}


# --- The check ------------------------------------------------------------------------

MAX_VALUE_CHARS = 500
"""Longest value (and source) a field carries into history, the review form and the rows: what a
document holds beyond it is cut and asked of a reviewer (a reviewer's answer has the same limit)."""
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    """``text`` on one line without control characters (a document's bytes reach a terminal and
    a page, and a value confirmed as found must pass the answers' rule)."""
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def check_field(rule: FieldRule, extraction: Extraction, threshold: float) -> tuple[FormField, bool]:
    """One field: its FormField, and whether a reviewer must answer it."""
    for finder in rule.finders:
        found = finder.find(extraction)
        if found is None:
            continue
        confidence = round(found.confidence, 4)
        raw, source = _printable(found.value), _printable(found.source)[:MAX_VALUE_CHARS]
        if len(raw) > MAX_VALUE_CHARS:
            reason = f"longer than {MAX_VALUE_CHARS} characters ({len(raw)}): cut"
            return FormField(rule.name, rule.label, rule.kind, raw[:MAX_VALUE_CHARS], confidence, source, reason), True
        try:
            value = NORMALISERS[rule.kind](raw)
        except NotReadable as problem:
            return FormField(rule.name, rule.label, rule.kind, raw, confidence, source, str(problem)), True
        reason = f"confidence {confidence:.3f} below {threshold:.2f}" if confidence < threshold else ""
        return FormField(rule.name, rule.label, rule.kind, value, confidence, source, reason), bool(reason)
    return FormField(rule.name, rule.label, rule.kind, reason="not found"), True


def check_document(doc_type: str, extraction: Extraction, threshold: float) -> tuple[list[FormField], list[str]]:
    """Every required field of ``doc_type`` and the names a reviewer must answer, in declared order."""
    fields: list[FormField] = []
    to_review: list[str] = []
    for rule in rules_for(doc_type):
        checked, ask = check_field(rule, extraction, threshold)
        fields.append(checked)
        if ask:
            to_review.append(rule.name)
    return fields, to_review
