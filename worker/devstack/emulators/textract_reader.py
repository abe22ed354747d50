"""What the Textract emulator "sees" in a PDF (EMULATION: development and tests only).

moto has no Amazon Textract; the dev stack's emulator (:mod:`worker.devstack.emulators.textract`)
reads a document's real text with pypdf instead of running OCR, and answers with the blocks
Textract's document analysis returns (``FeatureTypes=["FORMS"]``):

* ``PAGE`` per page (``CHILD``: its lines and key-value sets);
* ``LINE`` per text line in reading order (top to bottom, then left to right; fragments on
  one baseline further apart than twice the font size are separate lines, as Textract splits
  columns), ``CHILD``: its ``WORD`` blocks (``TextType`` PRINTED);
* ``KEY_VALUE_SET`` pairs: a line ``Label: value`` is a key (its words up to the colon,
  ``EntityTypes`` KEY, ``VALUE`` -> the value block) and a value (the remaining words,
  ``EntityTypes`` VALUE; no ``CHILD`` when the value is empty), as are the PDF's AcroForm
  text fields (label = the field's tooltip or name).

Geometry is normalised to the page (0-1, top-left origin) from the text's position in the
PDF. Confidences are deterministic: a hash of the text mapped into 97.0-99.9, unless an
override names the key (``confidence_overrides``, for tests that need a doubtful field).
A PDF without text (a scan) gives its ``PAGE`` blocks and nothing else.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pypdf
from pypdf.errors import PdfReadError

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
"""PNG, JPEG, TIFF: formats Textract takes besides PDF (the emulator cannot read their text)."""
_KEY_VALUE = re.compile(r"^(?P<key>[^\W\d_][^:]{0,48}?):(?:\s+(?P<value>.*))?$")
_COLUMN_GAP = 2.0
"""Fragments on one baseline further apart than this many font sizes are separate lines."""
_CHAR_WIDTH = 0.5
"""Estimated glyph width in font sizes (geometry only)."""


class UnreadableDocument(ValueError):
    """pypdf cannot parse the document (Textract: BadDocumentException)."""


class EncryptedDocument(ValueError):
    """A password-protected PDF (Textract: UnsupportedDocumentException)."""


@dataclass(frozen=True)
class Box:
    """A bounding box, normalised to the page (top-left origin)."""

    left: float
    top: float
    width: float
    height: float

    def geometry(self) -> dict[str, Any]:
        """Textract's ``Geometry``: the box and its polygon (clockwise from top-left)."""
        left, top, right, bottom = (
            _clip(self.left),
            _clip(self.top),
            _clip(self.left + self.width),
            _clip(self.top + self.height),
        )
        return {
            "BoundingBox": {"Width": _clip(right - left), "Height": _clip(bottom - top), "Left": left, "Top": top},
            "Polygon": [
                {"X": left, "Y": top},
                {"X": right, "Y": top},
                {"X": right, "Y": bottom},
                {"X": left, "Y": bottom},
            ],
        }

    def part(self, start: int, end: int, length: int) -> Box:
        """The horizontal slice of this box holding characters ``start:end`` of ``length``."""
        share = self.width / max(length, 1)
        return Box(self.left + start * share, self.top, (end - start) * share, self.height)


@dataclass
class TextLine:
    """One line of text on a page."""

    text: str
    box: Box


@dataclass
class FormField:
    """An AcroForm text field on a page."""

    label: str
    value: str
    box: Box


@dataclass
class PageText:
    """A page's lines in reading order and its form fields."""

    lines: list[TextLine] = field(default_factory=list)
    fields: list[FormField] = field(default_factory=list)


def is_pdf(data: bytes) -> bool:
    """True when ``data`` starts like a PDF."""
    return data.startswith(b"%PDF-")


def is_image(data: bytes) -> bool:
    """True when ``data`` starts like a PNG, JPEG or TIFF."""
    return data.startswith(IMAGE_MAGIC)


def read_pdf(data: bytes) -> list[PageText]:
    """Every page's text lines and form fields.

    Raises:
        EncryptedDocument: the PDF needs a password.
        UnreadableDocument: pypdf cannot read it.
    """
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise EncryptedDocument("the document is password-protected")
        return [_read_page(page) for page in reader.pages]
    except EncryptedDocument:
        raise
    except (PdfReadError, ValueError, TypeError, KeyError, IndexError, AttributeError, OSError) as error:
        raise UnreadableDocument(f"the PDF cannot be read: {error}") from None


def _read_page(page: Any) -> PageText:
    box = page.mediabox
    width, height = float(box.width) or 1.0, float(box.height) or 1.0
    x0, y0 = float(box.left), float(box.bottom)
    fragments: list[tuple[float, float, float, str]] = []  # baseline y, x, font size, text

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        for piece in text.split("\n"):
            if piece.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                scale = abs(tm[3] * cm[3]) or abs(tm[0] * cm[0]) or 1.0
                fragments.append((y - y0, x - x0, size * scale, piece.strip()))

    plain = page.extract_text(visitor_text=visit) or ""
    result = PageText(lines=_lines(fragments, width, height))
    if not result.lines and plain.strip():
        # Text the visitor could not place: stacked lines down the left margin.
        texts = [line.strip() for line in plain.splitlines() if line.strip()]
        result.lines = [
            TextLine(text, Box(0.05, 0.05 + 0.03 * n, min(0.9, 0.01 * len(text)), 0.02)) for n, text in enumerate(texts)
        ]
    result.fields = list(_form_fields(page, width, height, x0, y0))
    return result


def _lines(fragments: list[tuple[float, float, float, str]], width: float, height: float) -> list[TextLine]:
    rows: list[list[tuple[float, float, float, str]]] = []
    for fragment in sorted(fragments, key=lambda f: (-f[0], f[1])):
        if rows and abs(rows[-1][0][0] - fragment[0]) <= max(rows[-1][0][2], fragment[2]) * 0.3:
            rows[-1].append(fragment)
        else:
            rows.append([fragment])
    lines: list[TextLine] = []
    for row in rows:
        row.sort(key=lambda f: f[1])
        group = [row[0]]
        for fragment in row[1:]:
            previous = group[-1]
            end = previous[1] + len(previous[3]) * previous[2] * _CHAR_WIDTH
            if fragment[1] - end > _COLUMN_GAP * max(previous[2], fragment[2]):
                lines.append(_line(group, width, height))
                group = [fragment]
            else:
                group.append(fragment)
        lines.append(_line(group, width, height))
    return lines


def _line(group: list[tuple[float, float, float, str]], width: float, height: float) -> TextLine:
    text = " ".join(fragment[3] for fragment in group)
    size = max(fragment[2] for fragment in group)
    left = group[0][1]
    baseline = group[0][0]
    text_width = len(text) * size * _CHAR_WIDTH
    top = height - (baseline + size * 0.8)
    return TextLine(text, Box(left / width, top / height, text_width / width, size / height))


def _form_fields(page: Any, width: float, height: float, x0: float, y0: float) -> Iterator[FormField]:
    for reference in page.get("/Annots") or []:
        annotation = reference.get_object()
        if annotation.get("/Subtype") != "/Widget":
            continue
        parent = annotation.get("/Parent")
        owner = parent.get_object() if parent is not None else annotation
        kind = annotation.get("/FT") or owner.get("/FT")
        if kind != "/Tx":
            continue
        label = str(annotation.get("/TU") or owner.get("/TU") or annotation.get("/T") or owner.get("/T") or "")
        value = annotation.get("/V")
        if value is None:
            value = owner.get("/V")
        rect = [float(n) for n in annotation.get("/Rect") or (0, 0, 0, 0)]
        left, bottom, right, top = (
            min(rect[0], rect[2]),
            min(rect[1], rect[3]),
            max(rect[0], rect[2]),
            max(rect[1], rect[3]),
        )
        box = Box((left - x0) / width, (height - (top - y0)) / height, (right - left) / width, (top - bottom) / height)
        if label.strip():
            yield FormField(label.strip(), str(value or "").strip(), box)


def confidence(*parts: str) -> float:
    """A deterministic confidence in 97.0-99.9 for this text."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return round(97.0 + int.from_bytes(digest[:4], "big") % 2901 / 1000, 3)


def key_label(key_text: str) -> str:
    """A key's label without its colon (``"Invoice No:"`` -> ``"Invoice No"``)."""
    return key_text.rstrip().removesuffix(":").strip()


class _Blocks:
    """Builds one document's blocks with sequential, deterministic ids."""

    def __init__(self, document_id: str, overrides: Mapping[str, float]) -> None:
        self.document_id = document_id
        self.overrides = overrides
        self.blocks: list[dict[str, Any]] = []
        self._count = 0

    def new_id(self) -> str:
        self._count += 1
        digest = hashlib.sha256(f"{self.document_id}|{self._count}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def add(self, block: dict[str, Any]) -> dict[str, Any]:
        self.blocks.append(block)
        return block

    def words(self, text: str, box: Box, page: int, score: float) -> list[str]:
        """WORD blocks for ``text`` (split on whitespace) inside ``box``; their ids."""
        ids: list[str] = []
        for match in re.finditer(r"\S+", text):
            block = self.add(
                {
                    "BlockType": "WORD",
                    "Confidence": score,
                    "Text": match.group(0),
                    "TextType": "PRINTED",
                    "Geometry": box.part(match.start(), match.end(), len(text)).geometry(),
                    "Id": self.new_id(),
                    "Page": page,
                }
            )
            ids.append(block["Id"])
        return ids

    def key_value(
        self, key_text: str, value_text: str, key_words: list[str], value_words: list[str], box: Box, page: int
    ) -> str:
        """A KEY and its VALUE block; the KEY's id."""
        label = key_label(key_text)
        score = self.overrides.get(label, confidence("kv", key_text, value_text))
        key_id, value_id = self.new_id(), self.new_id()
        split = len(key_text) + 1
        total = len(key_text) + 1 + len(value_text)
        key_relations = [{"Type": "VALUE", "Ids": [value_id]}]
        if key_words:
            key_relations.append({"Type": "CHILD", "Ids": key_words})
        self.add(
            {
                "BlockType": "KEY_VALUE_SET",
                "Confidence": score,
                "Geometry": box.part(0, len(key_text), total).geometry(),
                "Id": key_id,
                "Relationships": key_relations,
                "EntityTypes": ["KEY"],
                "Page": page,
            }
        )
        value_block: dict[str, Any] = {
            "BlockType": "KEY_VALUE_SET",
            "Confidence": score,
            "Geometry": box.part(split, max(total, split + 1), max(total, split + 1)).geometry(),
            "Id": value_id,
            "EntityTypes": ["VALUE"],
            "Page": page,
        }
        if value_words:
            value_block["Relationships"] = [{"Type": "CHILD", "Ids": value_words}]
        self.add(value_block)
        return key_id


def analysis_blocks(
    pages: list[PageText], document_id: str, overrides: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Textract's FORMS analysis blocks of these pages (ids derived from ``document_id``)."""
    builder = _Blocks(document_id, overrides or {})
    for number, page in enumerate(pages, start=1):
        page_block = builder.add(
            {
                "BlockType": "PAGE",
                "Geometry": Box(0.0, 0.0, 1.0, 1.0).geometry(),
                "Id": builder.new_id(),
                "Page": number,
            }
        )
        children: list[str] = []
        pending: list[tuple[str, str, list[str], list[str], Box]] = []
        for line in page.lines:
            score = confidence("line", line.text)
            line_block = builder.add(
                {
                    "BlockType": "LINE",
                    "Confidence": score,
                    "Text": line.text,
                    "Geometry": line.box.geometry(),
                    "Id": builder.new_id(),
                    "Page": number,
                }
            )
            word_ids = builder.words(line.text, line.box, number, score)
            if word_ids:
                line_block["Relationships"] = [{"Type": "CHILD", "Ids": word_ids}]
            children.append(line_block["Id"])
            match = _KEY_VALUE.match(line.text)
            if match:
                key_text = line.text[: match.end("key") + 1]
                value_text = match.group("value") or ""
                count = len(key_text.split())
                pending.append((key_text, value_text, word_ids[:count], word_ids[count:], line.box))
        labels = {key_label(item[0]) for item in pending}
        for form_field in page.fields:
            if form_field.label in labels:
                continue  # the form's own text already shows it
            key_text = f"{form_field.label}:"
            key_words = builder.words(key_text, form_field.box.part(0, len(key_text), len(key_text) + 1), number, 99.0)
            value_words = builder.words(form_field.value, form_field.box, number, 99.0)
            pending.append((key_text, form_field.value, key_words, value_words, form_field.box))
        for key_text, value_text, key_words, value_words, box in pending:
            children.append(builder.key_value(key_text, value_text, key_words, value_words, box, number))
        if children:
            page_block["Relationships"] = [{"Type": "CHILD", "Ids": children}]
    return builder.blocks


def _clip(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 6)
