"""Amazon Comprehend's DetectEntities, answered deterministically (EMULATION: development and tests only).

moto does not implement Amazon Comprehend's entity detection, so this router speaks
Comprehend's JSON protocol itself (``POST /`` with ``X-Amz-Target:
Comprehend_20171127.DetectEntities``). boto3 reaches it through the standard per-service
variable ``AWS_ENDPOINT_URL_COMPREHEND``, so the activities call it as they would Comprehend.

The recogniser is small and line based (documents such as invoices, one entry a line):

* ORGANIZATION: a line (or the value of a ``Label: value`` line) that is a company name:
  capitalised words without digits ending in a legal suffix (Ltd, Limited, Inc, LLC, GmbH,
  AG, S.A., SA, BV, Co., Corp, PLC) scores 0.98-0.999; such a name WITHOUT a suffix directly
  under a ``BILL TO`` / ``SHIP TO`` / ``SOLD TO`` / ``EXPORTER`` / ``CONSIGNEE`` / ``SHIPPER``
  heading (or as the value of such a label) scores exactly 0.941, the doubt a reviewer settles;
* LOCATION: address lines (a street with a number, a postcode with a city, a country);
  consecutive address lines are one entity spanning them, 0.96-0.99;
* DATE: ISO dates, ``28 November 2026``, ``11/28/2026``, 0.97-0.999;
* QUANTITY: amounts such as ``12,480.00``, 0.95-0.99.

Scores in a range are a hash of the text, so the same text always scores the same. Offsets
are character offsets into the text sent. Text over 100 KB (UTF-8) is
``TextSizeLimitExceededException``; a language Comprehend does not detect entities in is
``UnsupportedLanguageException``.

Switches (in-process on ``app.state.comprehend``, or over HTTP under ``/comprehend``):
``POST /_emulator/faults {"count": 2, "code": "ThrottlingException", "after": 0, "forever": false}``
(``inject``) fails requests with that error (``{"count": 0}`` clears);
``POST /_emulator/scores {"Northwind Traders": 0.5}`` (``override_scores``) gives entities
with that text that score (``{}`` clears); ``GET /_emulator/stats`` counts requests, entity
detections and characters analysed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

TARGET_PREFIX = "Comprehend_20171127."
CONTENT_TYPE = "application/x-amz-json-1.1"
TEXT_LIMIT_BYTES = 100_000
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW")
HEADING_SCORE = 0.941
"""A company name without a legal suffix under an address heading: below a 0.95 threshold."""
_HEADINGS = {"BILL TO", "SHIP TO", "SOLD TO", "EXPORTER", "CONSIGNEE", "SHIPPER", "IMPORTER"}
_SUFFIXES = ("Ltd", "Ltd.", "Limited", "Inc", "Inc.", "LLC", "GmbH", "AG", "S.A.", "SA", "BV", "B.V.", "Co.", "Corp")
_SUFFIXES_MORE = ("Corp.", "PLC", "plc")
_NAME_WORD = re.compile(r"^(?:[A-Z][\w'.&-]*|&|and|of|the|de|van|der)$")
_COUNTRIES = {
    "netherlands",
    "the netherlands",
    "germany",
    "france",
    "belgium",
    "spain",
    "italy",
    "portugal",
    "poland",
    "united kingdom",
    "uk",
    "ireland",
    "united states",
    "usa",
    "canada",
    "mexico",
    "china",
    "japan",
    "india",
    "singapore",
    "australia",
    "brazil",
    "sweden",
    "denmark",
    "norway",
    "switzerland",
    "austria",
}
_STREET_WORDS = (
    r"Road|Rd\.?|Street|St\.?|Avenue|Ave\.?|Lane|Ln\.?|Way|Boulevard|Blvd\.?|Drive|Dr\.?|Quay|Square|Place|"
    r"Plaza|Court|Park|Pier|Dock|Wharf|Highway|Parkway|\w*(?:straat|weg|laan|gracht|kade|strasse|straße|gasse)"
)
_STREET = re.compile(rf"(^\d+[A-Za-z]?\s+[A-Z]\w*)|(\b({_STREET_WORDS})\b\s*\d+)|(^\d+.*\b({_STREET_WORDS})\b)")
_POSTCODE = re.compile(
    r"\b\d{4}\s?[A-Z]{2}\b|\b[A-Z]{2}\s\d{5}(?:-\d{4})?\b|\b\d{5}\s+[A-Z][a-z]+|"
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"
)
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b|"
    r"\b\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{4}\b"
)
_AMOUNT = re.compile(r"(?<![\w.,-])(?:\d{1,3}(?:,\d{3})+(?:\.\d{2})?|\d+\.\d{2})(?![\w.]|,\d)")
_LABEL = re.compile(r"^(?P<label>[^\W\d_][^:]{0,48}?):\s+")


class FaultRequest(BaseModel):
    """Fail ``count`` requests (or every one with ``forever``) with ``code`` after letting ``after`` through."""

    count: int = Field(default=0, ge=0)
    code: str = "ThrottlingException"
    after: int = Field(default=0, ge=0)
    forever: bool = False


@dataclass(frozen=True)
class Entity:
    """One entity found: its type, score and span in the text sent."""

    type: str
    score: float
    begin: int
    end: int

    def answer(self, text: str) -> dict[str, Any]:
        """Comprehend's shape of the entity."""
        return {
            "Score": self.score,
            "Type": self.type,
            "Text": text[self.begin : self.end],
            "BeginOffset": self.begin,
            "EndOffset": self.end,
        }


def _score(low: float, high: float, *parts: str) -> float:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    steps = round((high - low) * 1000)
    return round(low + int.from_bytes(digest[:4], "big") % (steps + 1) / 1000, 3)


def _is_heading(line: str) -> bool:
    return line.strip().rstrip(":").strip().upper() in _HEADINGS and line.strip().rstrip(":").isupper()


def _company(segment: str) -> str | None:
    """``"suffix"`` for a company name with a legal suffix, ``"name"`` for a bare name, else None."""
    words = segment.split()
    if not 1 <= len(words) <= 8 or re.search(r"\d", segment) or _is_address(segment):
        return None
    if not all(_NAME_WORD.match(word) for word in words):
        return None
    if len(words) >= 2 and (words[-1] in _SUFFIXES or words[-1] in _SUFFIXES_MORE):
        return "suffix"
    return "name" if words[0][0].isupper() else None


def _is_address(segment: str) -> bool:
    text = _DATE.sub(" ", segment).strip()  # "28 November 2026" is no street
    if text.lower().rstrip(".") in _COUNTRIES:
        return True
    return bool(_STREET.search(text) or _POSTCODE.search(text))


def detect_entities(text: str, overrides: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """The entities the emulator finds in ``text``, in text order."""
    entities: list[Entity] = []
    previous = ""
    address: tuple[int, int] | None = None  # the address block being extended
    position = 0
    for raw in text.split("\n"):
        start, end = position, position + len(raw)
        position = end + 1
        stripped = raw.strip()
        if not stripped:
            _close_address(entities, text, address)
            address = None
            previous = ""
            continue
        # The candidate: the whole line, or a labelled line's value.
        label = _LABEL.match(raw)
        segment_start = start + (label.end() if label else len(raw) - len(raw.lstrip()))
        segment_end = start + len(raw.rstrip())
        segment = text[segment_start:segment_end]
        under_heading = _is_heading(previous) or bool(label and label.group("label").upper() in _HEADINGS)
        kind = _company(segment) if segment and not _is_heading(stripped) else None
        taken = False
        if kind == "suffix" or (kind == "name" and under_heading):
            _close_address(entities, text, address)
            address = None
            score = _score(0.98, 0.999, "org", segment) if kind == "suffix" else HEADING_SCORE
            entities.append(Entity("ORGANIZATION", score, segment_start, segment_end))
            taken = True
        elif segment and _is_address(segment):
            address = (address[0], segment_end) if address else (segment_start, segment_end)
            taken = True
        else:
            _close_address(entities, text, address)
            address = None
        if not taken and segment:
            entities.extend(_inline(segment, segment_start))
        previous = stripped
    _close_address(entities, text, address)
    entities.sort(key=lambda entity: entity.begin)
    found = [entity.answer(text) for entity in entities]
    for entity in found:
        if overrides and entity["Text"] in overrides:
            entity["Score"] = overrides[entity["Text"]]
    return found


def _close_address(entities: list[Entity], text: str, address: tuple[int, int] | None) -> None:
    """Record the address block being extended, if any (the caller starts a new one)."""
    if address is not None:
        entities.append(Entity("LOCATION", _score(0.96, 0.99, "loc", text[address[0] : address[1]]), *address))


def _inline(segment: str, offset: int) -> list[Entity]:
    found: list[Entity] = []
    dates = [(m.start(), m.end()) for m in _DATE.finditer(segment)]
    for begin, end in dates:
        found.append(Entity("DATE", _score(0.97, 0.999, "date", segment[begin:end]), offset + begin, offset + end))
    for match in _AMOUNT.finditer(segment):
        if any(begin <= match.start() < end for begin, end in dates):
            continue
        found.append(
            Entity("QUANTITY", _score(0.95, 0.99, "qty", match.group(0)), offset + match.start(), offset + match.end())
        )
    return found


class ComprehendEmulator:
    """State and routes of the Comprehend emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[str | None] = []
        self._forever: str | None = None
        self.overrides: dict[str, float] = {}
        self.requests = 0
        self.detections = 0
        self.characters = 0
        self.router = APIRouter()
        for path in ("", "/"):
            self.router.add_api_route(path, self.handle, methods=["POST"], include_in_schema=False)
        self.router.add_api_route("/_emulator/faults", self.set_faults, methods=["POST"])
        self.router.add_api_route("/_emulator/scores", self.set_scores, methods=["POST"])
        self.router.add_api_route("/_emulator/stats", self.stats, methods=["GET"])

    def inject(self, count: int, code: str = "ThrottlingException", after: int = 0, *, forever: bool = False) -> None:
        """After ``after`` requests, fail ``count`` (every one with ``forever``) with ``code``; ``inject(0)`` clears."""
        with self._lock:
            self._faults = [None] * after + [code] * count
            self._forever = code if forever else None

    async def set_faults(self, body: FaultRequest) -> dict[str, Any]:
        """HTTP form of :meth:`inject`."""
        self.inject(body.count, body.code, body.after, forever=body.forever)
        return body.model_dump()

    def override_scores(self, scores: dict[str, float]) -> dict[str, float]:
        """Entities with exactly this text get this score (``{}`` clears)."""
        with self._lock:
            self.overrides = dict(scores)
            return dict(self.overrides)

    async def set_scores(self, body: dict[str, float]) -> dict[str, float]:
        """HTTP form of :meth:`override_scores`."""
        return self.override_scores(body)

    def reset(self) -> None:
        """No faults, no score overrides."""
        self.inject(0)
        self.override_scores({})

    async def stats(self) -> dict[str, int]:
        """Requests, DetectEntities calls answered and characters analysed."""
        return {"requests": self.requests, "detect_entities": self.detections, "characters": self.characters}

    async def handle(self, request: Request) -> Response:
        """Dispatch on ``X-Amz-Target`` like the real endpoint."""
        target = request.headers.get("x-amz-target", "")
        with self._lock:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else self._forever
        if fault is not None:
            return _error(fault, "Rate exceeded" if "Throttl" in fault else f"injected {fault}")
        if target != f"{TARGET_PREFIX}DetectEntities":
            return _error("UnknownOperationException", f"the emulator does not serve {target!r}")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error("SerializationException", "request body is not JSON")
        if not isinstance(body, dict):
            return _error("SerializationException", "request body is not a JSON object")
        text, language = body.get("Text"), body.get("LanguageCode")
        if body.get("EndpointArn"):
            return _error("ResourceUnavailableException", "the emulator has no custom entity recognizers")
        if not isinstance(text, str) or not text:
            return _error("InvalidRequestException", "Text is required (at least 1 character)")
        size = len(text.encode("utf-8"))
        if size > TEXT_LIMIT_BYTES:
            return _error(
                "TextSizeLimitExceededException",
                f"Input text size exceeds limit. Max length of request text allowed is {TEXT_LIMIT_BYTES} bytes "
                f"while in this request the text size is {size} bytes",
            )
        if language not in LANGUAGES:
            return _error("UnsupportedLanguageException", f"Unsupported language code {language!r} for DetectEntities")
        entities = detect_entities(text, self.overrides)
        with self._lock:
            self.detections += 1
            self.characters += len(text)
        return JSONResponse(
            {"Entities": entities}, media_type=CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())}
        )


def _error(code: str, message: str) -> Response:
    return JSONResponse(
        {"__type": code, "Message": message},
        status_code=500 if code == "InternalServerException" else 400,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": code},
    )
