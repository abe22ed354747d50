"""Amazon Translate's TranslateText, answered deterministically (EMULATION: development and tests only).

moto does not implement Amazon Translate, so this router speaks Translate's JSON
protocol itself (``POST /`` with ``X-Amz-Target: AWSShineFrontendService_20170701.TranslateText``).
boto3 reaches it through the standard per-service variable ``AWS_ENDPOINT_URL_TRANSLATE``,
so the activities call it exactly as they would call Amazon Translate.

* Output is a marked pseudo-translation: text containing letters comes back as
  ``[<target>] <text>``; text without letters (numbers, punctuation) comes back unchanged,
  as Translate leaves it.
* A language code Translate does not support (either side) is an
  ``UnsupportedLanguagePairException``; text over 10,000 UTF-8 bytes is a
  ``TextSizeLimitExceededException``: Translate's own error types, status codes and shapes.
* Switches: ``POST /_emulator/faults {"count": 2, "code": "ThrottlingException", "after": 1}``
  lets ``after`` requests through, then fails ``count`` with that error (``inject`` does
  the same in-process);
  ``GET /_emulator/stats`` counts requests and translated bytes.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from activities.media.languages import TRANSLATE_LANGUAGES

TARGET_PREFIX = "AWSShineFrontendService_20170701."
CONTENT_TYPE = "application/x-amz-json-1.1"
TEXT_LIMIT_BYTES = 10_000
_LETTER = re.compile(r"[^\W\d_]")
_STATUS = {"ThrottlingException": 400, "TooManyRequestsException": 429, "ServiceUnavailableException": 503}


class FaultRequest(BaseModel):
    """Fail ``count`` TranslateText requests with ``code``, after letting ``after`` through."""

    count: int = Field(ge=0)
    code: str = "ThrottlingException"
    after: int = Field(default=0, ge=0)


def pseudo_translate(text: str, target: str) -> str:
    """The emulator's deterministic "translation" of ``text`` into ``target``."""
    return f"[{target}] {text.strip()}" if _LETTER.search(text) else text


class TranslateEmulator:
    """State and routes of the Translate emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[str | None] = []
        self.requests = 0
        self.translations = 0
        self.translated_bytes = 0
        self.router = APIRouter()
        # boto3 posts to the endpoint URL itself (no trailing slash); accept both forms.
        for path in ("", "/"):
            self.router.add_api_route(path, self.handle, methods=["POST"], include_in_schema=False)
        self.router.add_api_route("/_emulator/faults", self.set_faults, methods=["POST"])
        self.router.add_api_route("/_emulator/stats", self.stats, methods=["GET"])

    def inject(self, count: int, code: str = "ThrottlingException", after: int = 0) -> None:
        """Let ``after`` requests through, then fail ``count`` with the AWS error ``code``."""
        with self._lock:
            self._faults = [None] * after + [code] * count

    async def set_faults(self, body: FaultRequest) -> dict[str, Any]:
        """HTTP form of :meth:`inject`."""
        self.inject(body.count, body.code, body.after)
        return {"pending_faults": body.count, "code": body.code, "after": body.after}

    async def stats(self) -> dict[str, int]:
        """Requests seen, successful translations, bytes translated."""
        return {
            "requests": self.requests,
            "translations": self.translations,
            "translated_bytes": self.translated_bytes,
        }

    async def handle(self, request: Request) -> Response:
        """Dispatch on ``X-Amz-Target`` like the real endpoint."""
        target = request.headers.get("x-amz-target", "")
        with self._lock:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return _error(fault, "Rate exceeded" if "Throttl" in fault else f"injected {fault}")
        if target != TARGET_PREFIX + "TranslateText":
            return _error("UnknownOperationException", f"the emulator serves TranslateText only, not {target!r}")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error("SerializationException", "request body is not JSON")
        return self._translate(body)

    def _translate(self, body: dict[str, Any]) -> Response:
        text, source, target = body.get("Text"), body.get("SourceLanguageCode"), body.get("TargetLanguageCode")
        if not isinstance(text, str) or not text or not isinstance(source, str) or not isinstance(target, str):
            return _error("ValidationException", "Text, SourceLanguageCode and TargetLanguageCode are required")
        size = len(text.encode("utf-8"))
        if size > TEXT_LIMIT_BYTES:
            return _error(
                "TextSizeLimitExceededException",
                f"Input text size exceeds limit. Max length of request text allowed is {TEXT_LIMIT_BYTES} bytes "
                f"while in this request the text size is {size} bytes",
            )
        if source not in TRANSLATE_LANGUAGES or target not in TRANSLATE_LANGUAGES:
            return _error(
                "UnsupportedLanguagePairException",
                f"Unsupported language pair: {source} to {target}",
                SourceLanguageCode=source,
                TargetLanguageCode=target,
            )
        with self._lock:
            self.translations += 1
            self.translated_bytes += size
        payload = {
            "TranslatedText": pseudo_translate(text, target),
            "SourceLanguageCode": source,
            "TargetLanguageCode": target,
        }
        return JSONResponse(payload, media_type=CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())})


def _error(code: str, message: str, **extra: str) -> Response:
    return JSONResponse(
        {"__type": code, "Message": message, **extra},
        status_code=_STATUS.get(code, 400),
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": code},
    )
