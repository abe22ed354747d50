"""Streaming, hardened parser of partner transaction files (pure: no I/O, no clocks).

Bytes are pushed in as they arrive from S3 (:meth:`TransactionFileParser.feed`) and
records come out as soon as their ``</Transaction>`` closes; no tree is built, so memory
stays flat however long the file is. The only state that grows is one 8-byte digest per
TransactionID, to find duplicates within the file (about 60 bytes a record).

The parser is defusedxml's expat parser with DTDs, entities and external references
forbidden, plus limits of its own. Whole-file problems raise :class:`FileRejected` with a
reason code and a message that never quotes the file's content; record problems come
back as :class:`ParsedRecord` with ``problem`` set, and parsing goes on.

Accepted shape (the article's sample)::

    <Transactions>
      <Transaction TransactionID="1"><Notes>Transaction made between ...</Notes></Transaction>
    </Transactions>
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

ROOT = "Transactions"
RECORD = "Transaction"
NOTES = "Notes"
TRANSACTION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_NOTES_CHARS = 1000
MAX_DEPTH = 16
MAX_BYTES_BETWEEN_RECORDS = 1 << 20
"""A file that goes this long without closing a record is rejected: expat would buffer it."""
# Encodings expat decodes itself; anything else would need Python codecs behind expat's back.
SUPPORTED_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "utf-16"}
_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


class FileRejected(Exception):
    """The whole file is unusable; ``code`` is a stable reason code, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ParsedRecord:
    """One ``<Transaction>`` as found in the file."""

    index: int
    """Position of the record in the file, from 0 (records of every kind are counted)."""
    transaction_id: str | None
    """The TransactionID attribute, if present."""
    notes: str | None
    """The text of ``<Notes>``, stripped, if present."""
    problem: str | None = None
    """Why the record is rejected (None: valid and the first with its TransactionID)."""
    duplicate: bool = False
    """True when ``problem`` is a repeated TransactionID."""


class _RecordCollector:
    """The parser's target: turns start/data/end callbacks into records, keeping no tree."""

    def __init__(self) -> None:
        self.depth = 0
        self.records: list[ParsedRecord] = []
        self.count = 0
        self._seen: set[int] = set()
        self._first_at: dict[int, int] = {}
        self._current: dict[str, Any] | None = None
        self._in_notes = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FileRejected("too-deep", f"elements nest deeper than {MAX_DEPTH} levels")
        if self.depth == 1 and tag != ROOT:
            raise FileRejected("wrong-root", f"the root element must be <{ROOT}>")
        if self.depth == 2:
            self._current = {"tag": tag, "id": attrib.get("TransactionID"), "notes": None, "notes_count": 0}
        elif self.depth == 3 and self._current is not None and tag == NOTES:
            self._current["notes_count"] += 1
            if self._current["notes_count"] == 1:
                self._current["notes"] = []
                self._in_notes = True

    def data(self, text: str) -> None:
        if self._in_notes and self._current is not None:
            parts: list[str] = self._current["notes"]
            if sum(len(p) for p in parts) <= MAX_NOTES_CHARS:
                parts.append(text)

    def end(self, tag: str) -> None:
        if self.depth == 3:
            self._in_notes = False
        if self.depth == 2 and self._current is not None:
            self.records.append(self._finish(self._current))
            self._current = None
        self.depth -= 1

    def close(self) -> None:
        """Called by the parser at the end of the document."""

    def _finish(self, current: dict[str, Any]) -> ParsedRecord:
        index = self.count
        self.count += 1
        transaction_id: str | None = current["id"]
        notes = "".join(current["notes"]).strip() if current["notes"] is not None else None
        problem = _record_problem(current["tag"], transaction_id, notes, current["notes_count"])
        if problem is not None or transaction_id is None:
            return ParsedRecord(index, _safe_id(transaction_id), _excerpt(notes), problem)
        digest = int.from_bytes(hashlib.blake2b(transaction_id.encode(), digest_size=8).digest(), "big")
        if digest in self._seen:
            first = self._first_at.get(digest)
            where = f" (first at record {first})" if first is not None else ""
            return ParsedRecord(index, transaction_id, _excerpt(notes), f"duplicate TransactionID{where}", True)
        self._seen.add(digest)
        if len(self._first_at) < 10_000:  # positions are a courtesy for the report; bounded
            self._first_at[digest] = index
        return ParsedRecord(index, transaction_id, notes)


def _record_problem(tag: str, transaction_id: str | None, notes: str | None, notes_count: int) -> str | None:
    if tag != RECORD:
        return f"unexpected element <{tag[:40]}> where <{RECORD}> was expected"
    if transaction_id is None or not transaction_id.strip():
        return "missing TransactionID"
    if not TRANSACTION_ID_PATTERN.match(transaction_id):
        return "TransactionID must be 1-64 letters, digits, '_', '.', ':' or '-'"
    if notes_count == 0 or not notes:
        return "missing Notes"
    if notes_count > 1:
        return "more than one <Notes>"
    if len(notes) > MAX_NOTES_CHARS:
        return f"Notes longer than {MAX_NOTES_CHARS} characters"
    return None


def _safe_id(transaction_id: str | None) -> str | None:
    if transaction_id is None:
        return None
    return transaction_id[:64]


def _excerpt(notes: str | None) -> str | None:
    return None if notes is None else notes[:MAX_NOTES_CHARS]


class TransactionFileParser:
    """Push bytes in, take records out; raises :class:`FileRejected` for a bad file."""

    def __init__(self) -> None:
        self._collector = _RecordCollector()
        self._parser = DefusedXMLParser(
            target=self._collector, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        self._decoder: codecs.IncrementalDecoder | None = None
        self._encoding = "UTF-8"
        self._started = False
        self._offset = 0
        self._since_record = 0

    @property
    def records_seen(self) -> int:
        """Records completed so far (valid or not)."""
        return self._collector.count

    def feed(self, data: bytes) -> list[ParsedRecord]:
        """Parse the next piece of the file; return the records it completed."""
        if not self._started:
            self._started = True
            self._encoding, self._decoder = _decoder_for(data)
        if self._decoder is not None:
            self._check_encoding(data, final=False)
        self._offset += len(data)
        before = self._collector.count
        self._run(lambda: self._parser.feed(data))
        self._since_record = 0 if self._collector.count > before else self._since_record + len(data)
        if self._since_record > MAX_BYTES_BETWEEN_RECORDS:
            raise FileRejected("record-too-large", f"no record ends within {MAX_BYTES_BETWEEN_RECORDS} bytes")
        return self._take()

    def close(self) -> list[ParsedRecord]:
        """The file has ended: check it was complete and return the last records."""
        if not self._started:
            raise FileRejected("empty", "the file is empty")
        if self._decoder is not None:
            self._check_encoding(b"", final=True)
        self._run(self._parser.close)
        return self._take()

    def _take(self) -> list[ParsedRecord]:
        records, self._collector.records = self._collector.records, []
        return records

    def _check_encoding(self, data: bytes, *, final: bool) -> None:
        assert self._decoder is not None
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as error:
            raise FileRejected(
                "bad-encoding",
                f"byte {self._offset + error.start} is not valid {self._encoding} (the declared encoding)",
            ) from None

    def _run(self, step: Any) -> None:
        try:
            step()
        except FileRejected:
            raise
        except DTDForbidden:
            raise FileRejected("dtd", "the file declares a DTD (DOCTYPE); DTDs are not accepted") from None
        except EntitiesForbidden:
            raise FileRejected("entities", "the file declares entities; entities are not accepted") from None
        except ExternalReferenceForbidden:
            raise FileRejected("external-reference", "the file references an external resource") from None
        except ParseError as error:
            raise FileRejected("not-well-formed", f"not well-formed XML: {_position(error)}") from None
        except (LookupError, ValueError) as error:
            raise FileRejected("bad-encoding", f"cannot decode the file: {type(error).__name__}") from None


def _decoder_for(first: bytes) -> tuple[str, codecs.IncrementalDecoder | None]:
    """The declared encoding and a strict decoder to check it (None: expat checks it itself)."""
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16", None
    match = _DECLARATION.match(first[:200])
    declared = match.group(1).decode().lower() if match else "utf-8"
    if declared not in SUPPORTED_ENCODINGS:
        raise FileRejected("bad-encoding", f"unsupported encoding {declared[:40]!r}: use UTF-8")
    if declared in ("utf-8", "utf8"):
        return "UTF-8", codecs.getincrementaldecoder("utf-8")(errors="strict")
    if declared in ("us-ascii", "ascii"):
        return "US-ASCII", codecs.getincrementaldecoder("ascii")(errors="strict")
    return declared.upper(), None


def _position(error: ParseError) -> str:
    """Expat's reason and position, never the offending text."""
    code = getattr(error, "code", None)
    line, column = getattr(error, "position", (0, 0))
    from xml.parsers.expat import ErrorString

    reason = ErrorString(code) if isinstance(code, int) else "syntax error"
    return f"{reason} at line {line}, column {column}"
