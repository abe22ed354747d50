"""Custom terminology and translation memory files, checked before Amazon Translate imports them.

Terminology comes as CSV (a header row of language codes, source first, then one term a row)
or TMX; translation memory (Amazon Translate's "parallel data") as TMX. Both are customer
files: TMX is screened like XLIFF (:func:`activities.translation.xliff.screen_xml`) before
translate-toolkit reads it, CSV must be UTF-8. The checks mirror Amazon Translate's own limits,
so that a file it would reject is refused here, with a reason, instead of failing an import.
Every refusal is an :class:`~activities.translation.xliff.UnsafeDocument`.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from typing import Any, Literal

from translate.storage.tmx import tmxfile

from activities.translation.xliff import LANGUAGE_CODE, UnsafeDocument, screen_size, screen_text, screen_xml

MAX_TERMINOLOGY_BYTES = 10 * 1024 * 1024
"""Amazon Translate's limit on a custom terminology file."""
MAX_TERM_BYTES = 200
"""Amazon Translate's limit on the source and target text of one term, in UTF-8 bytes."""
MAX_TERMINOLOGY_TARGETS = 10
"""Amazon Translate's limit on target languages in one terminology file."""
MAX_MEMORY_BYTES = 50 * 1024 * 1024
"""Our cap on a translation memory file (Amazon Translate takes up to 5 GB)."""
MAX_SEGMENT_BYTES = 1000
"""Amazon Translate's limit on one segment of parallel data, in UTF-8 bytes."""
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Terminology:
    """A custom terminology file fit for ``ImportTerminology``."""

    format: Literal["CSV", "TMX"]
    """The ``TerminologyData.Format`` to import it with."""
    languages: tuple[str, ...]
    """The language codes it covers, source first."""
    terms: int
    """How many terms (CSV rows, TMX translation units) it has."""


@dataclass(frozen=True)
class Memory:
    """A translation memory fit for ``CreateParallelData`` (format TMX)."""

    source_language: str
    """The header's ``srclang``."""
    target_languages: tuple[str, ...]
    """The other languages of its translation units, in order of first appearance."""
    units: int
    """How many translation units it has."""


@dataclass(frozen=True)
class _Tmx:
    source_language: str
    target_languages: tuple[str, ...]
    units: int


def read_terminology(data: bytes, name: str, *, max_bytes: int = MAX_TERMINOLOGY_BYTES) -> Terminology:
    """Check a custom terminology file; its format comes from ``name`` (``.csv`` or ``.tmx``).

    Raises:
        UnsafeDocument: the file is hostile, malformed, or beyond Amazon Translate's limits.
    """
    suffix = name.lower().rpartition(".")[2]
    if suffix == "csv":
        return _read_csv(data, max_bytes)
    if suffix == "tmx":
        tmx = _read_tmx(data, max_bytes, max_text_bytes=MAX_TERM_BYTES, text="term")
        if len(tmx.target_languages) > MAX_TERMINOLOGY_TARGETS:
            raise UnsafeDocument(f"more than {MAX_TERMINOLOGY_TARGETS} target languages")
        return Terminology("TMX", (tmx.source_language, *tmx.target_languages), tmx.units)
    raise UnsafeDocument("a terminology file must be .csv or .tmx")


def read_memory(data: bytes, name: str, *, max_bytes: int = MAX_MEMORY_BYTES) -> Memory:
    """Check a TMX translation memory.

    Raises:
        UnsafeDocument: the file is hostile, malformed, or beyond Amazon Translate's limits.
    """
    if not name.lower().endswith(".tmx"):
        raise UnsafeDocument("a translation memory must be a .tmx file")
    tmx = _read_tmx(data, max_bytes, max_text_bytes=MAX_SEGMENT_BYTES, text="segment")
    return Memory(tmx.source_language, tmx.target_languages, tmx.units)


def _read_csv(data: bytes, max_bytes: int) -> Terminology:
    screen_size(data, max_bytes)
    text = screen_text(data.removeprefix(codecs.BOM_UTF8), "utf-8")
    if "\x00" in text:
        raise UnsafeDocument("not a text file (NUL characters)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader if row]
    except csv.Error:
        raise UnsafeDocument(f"not a readable CSV file (line {reader.line_num})") from None
    if not rows:
        raise UnsafeDocument("the file is empty")
    (_, header), terms = rows[0], rows[1:]
    _check_header(header)
    for line, row in terms:
        if len(row) != len(header):
            raise UnsafeDocument(f"line {line} has {len(row)} column(s), the header {len(header)}")
        if not row[0]:
            raise UnsafeDocument(f"line {line} has an empty source term")
        if any(len(cell.encode()) > MAX_TERM_BYTES for cell in row):
            raise UnsafeDocument(f"line {line} has a term longer than {MAX_TERM_BYTES} bytes")
    if not terms:
        raise UnsafeDocument("no terms under the header")
    return Terminology("CSV", tuple(header), len(terms))


def _check_header(header: list[str]) -> None:
    if len(header) < 2:
        raise UnsafeDocument("the header needs a source and at least one target language code")
    for column, code in enumerate(header, 1):
        if not LANGUAGE_CODE.match(code):
            raise UnsafeDocument(f"header column {column} is not a language code")
    if len({code.lower() for code in header}) != len(header):
        raise UnsafeDocument("a language appears twice in the header")
    if len(header) - 1 > MAX_TERMINOLOGY_TARGETS:
        raise UnsafeDocument(f"more than {MAX_TERMINOLOGY_TARGETS} target languages")


def _read_tmx(data: bytes, max_bytes: int, *, max_text_bytes: int, text: str) -> _Tmx:
    screen_xml(data, root="tmx", max_bytes=max_bytes)
    try:
        store = tmxfile(data)
    except (ValueError, AssertionError, SyntaxError) as error:
        raise UnsafeDocument(f"not a readable TMX document ({type(error).__name__})") from None
    source = store.sourcelanguage
    if not source or not LANGUAGE_CODE.match(source):
        # "*all*" is valid TMX but names no language Amazon Translate could translate from.
        raise UnsafeDocument("the TMX header has no source language code (srclang)")
    languages: dict[str, str] = {source.lower(): source}
    for index, unit in enumerate(store.units, 1):
        texts = _unit_texts(unit, index, max_text_bytes, text)
        if not texts.get(source.lower(), ("", ""))[1].strip():
            raise UnsafeDocument(f"translation unit {index} has no {source} {text}")
        if len(texts) < 2:
            raise UnsafeDocument(f"translation unit {index} has no translation")
        for key, (language, _) in texts.items():
            languages.setdefault(key, language)
    if not store.units:
        raise UnsafeDocument("no translation units")
    targets = tuple(language for key, language in languages.items() if key != source.lower())
    return _Tmx(source_language=source, target_languages=targets, units=len(store.units))


def _unit_texts(unit: Any, index: int, max_text_bytes: int, text: str) -> dict[str, tuple[str, str]]:
    """The unit's (language code as written, text) by lower-cased language code."""
    texts: dict[str, tuple[str, str]] = {}
    for node in unit.getlanguageNodes():
        # TMX 1.4 says xml:lang; TMX 1.1 files still say lang.
        language = node.get(_XML_LANG) or node.get("lang") or ""
        if not LANGUAGE_CODE.match(language):
            raise UnsafeDocument(f"translation unit {index} has a <tuv> without a language code")
        value = str(unit.getNodeText(node) or "")
        if len(value.encode()) > max_text_bytes:
            raise UnsafeDocument(f"translation unit {index} has a {text} longer than {max_text_bytes} bytes")
        texts[language.lower()] = (language, value)
    return texts
