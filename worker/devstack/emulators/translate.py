"""Amazon Translate, answered deterministically (EMULATION: development and tests only).

moto does not implement Amazon Translate, so this router speaks Translate's JSON
protocol itself (``POST /`` with ``X-Amz-Target: AWSShineFrontendService_20170701.<operation>``).
It answers TranslateText here; batch jobs, custom terminology and parallel data are
handed to :mod:`worker.devstack.emulators.translate_jobs`.
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
  the same in-process), whichever the operation;
  ``POST /_emulator/jobs {"drop_segments": 1, "fail_jobs": 1, "reason": "...", "polls_in_progress": 0}``
  (any subset; ``configure_jobs`` in-process) changes how the next batch jobs end;
  ``GET /_emulator/stats`` counts requests, translated bytes and batch jobs started.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from activities.media.languages import TRANSLATE_LANGUAGES
from worker.devstack.emulators.translate_jobs import RequestContext, TranslateError, TranslateJobs

TARGET_PREFIX = "AWSShineFrontendService_20170701."
CONTENT_TYPE = "application/x-amz-json-1.1"
TEXT_LIMIT_BYTES = 10_000
_LETTER = re.compile(r"[^\W\d_]")
_STATUS = {
    "ThrottlingException": 400,
    "TooManyRequestsException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "ConflictException": 409,
    "ConcurrentModificationException": 409,
}
_REGION = re.compile(r"Credential=[^/]+/\d+/([^/]+)/")


class FaultRequest(BaseModel):
    """Fail ``count`` TranslateText requests with ``code``, after letting ``after`` through."""

    count: int = Field(ge=0)
    code: str = "ThrottlingException"
    after: int = Field(default=0, ge=0)


class JobSwitchesRequest(BaseModel):
    """How the next batch jobs end; fields left out keep their setting."""

    drop_segments: int | None = Field(default=None, ge=0)
    fail_jobs: int | None = Field(default=None, ge=0)
    reason: str | None = Field(default=None, min_length=1)
    polls_in_progress: int | None = Field(default=None, ge=0)
    start_latency_seconds: float | None = Field(default=None, ge=0, le=600)


def pseudo_translate(text: str, target: str) -> str:
    """The emulator's deterministic "translation" of ``text`` into ``target``."""
    return f"[{target}] {text.strip()}" if _LETTER.search(text) else text


class TranslateEmulator:
    """State and routes of the Translate emulator."""

    def __init__(self, state_file: Path | None = None, moto_url: str | None = None) -> None:
        self.jobs = TranslateJobs(pseudo_translate, state_file=state_file, moto_url=moto_url)
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
        self.router.add_api_route("/_emulator/jobs", self.set_job_switches, methods=["POST"])
        self.router.add_api_route("/_emulator/stats", self.stats, methods=["GET"])
        self.router.add_api_route("/_emulator/terminologies/{name}", self.terminology_file, methods=["GET"])

    def inject(self, count: int, code: str = "ThrottlingException", after: int = 0) -> None:
        """Let ``after`` requests through, then fail ``count`` with the AWS error ``code``."""
        with self._lock:
            self._faults = [None] * after + [code] * count

    async def set_faults(self, body: FaultRequest) -> dict[str, Any]:
        """HTTP form of :meth:`inject`."""
        self.inject(body.count, body.code, body.after)
        return {"pending_faults": body.count, "code": body.code, "after": body.after}

    def configure_jobs(
        self,
        *,
        drop_segments: int | None = None,
        fail_jobs: int | None = None,
        reason: str | None = None,
        polls_in_progress: int | None = None,
        start_latency_seconds: float | None = None,
    ) -> dict[str, Any]:
        """The next ``drop_segments`` jobs to complete leave the last unit of each document
        without a target; the next ``fail_jobs`` end FAILED with ``reason`` as Message; jobs
        started from now on answer IN_PROGRESS to ``polls_in_progress`` describes, then complete;
        StartTextTranslationJob answers ``start_latency_seconds`` after creating the job."""
        return self.jobs.configure(
            drop_segments=drop_segments,
            fail_jobs=fail_jobs,
            reason=reason,
            polls_in_progress=polls_in_progress,
            start_latency_seconds=start_latency_seconds,
        )

    async def set_job_switches(self, body: JobSwitchesRequest) -> dict[str, Any]:
        """HTTP form of :meth:`configure_jobs`; answers the switches now in force."""
        return self.configure_jobs(**body.model_dump())

    async def stats(self) -> dict[str, int]:
        """Requests, translations, bytes translated; batch jobs created and running now."""
        return {
            "requests": self.requests,
            "translations": self.translations,
            "translated_bytes": self.translated_bytes,
            "jobs_started": self.jobs.jobs_started,
            "jobs_running": self.jobs.jobs_running,
        }

    async def terminology_file(self, name: str) -> Response:
        """The imported file (where GetTerminology's ``TerminologyDataLocation`` points)."""
        data = self.jobs.terminology_file(name)
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="application/octet-stream")

    async def handle(self, request: Request) -> Response:
        """Dispatch on ``X-Amz-Target`` like the real endpoint."""
        target = request.headers.get("x-amz-target", "")
        with self._lock:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return _error(fault, "Rate exceeded" if "Throttl" in fault else f"injected {fault}")
        operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        if operation != "TranslateText" and operation not in self.jobs.operations:
            return _error("UnknownOperationException", f"the emulator does not serve {target!r}")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error("SerializationException", "request body is not JSON")
        if not isinstance(body, dict):
            return _error("SerializationException", "request body is not a JSON object")
        if operation == "TranslateText":
            return self._translate(body)
        context = RequestContext(region=_region(request), base_url=str(request.url).rstrip("/"))
        try:
            # Blocking: completing a job reads and writes S3.
            answer = await asyncio.to_thread(self.jobs.call, operation, body, context)
        except TranslateError as error:
            return _error(error.code, error.message, **error.extra)
        if operation == "StartTextTranslationJob" and self.jobs.switches.start_latency_seconds:
            await asyncio.sleep(self.jobs.switches.start_latency_seconds)
        return JSONResponse(answer, media_type=CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())})

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


def _region(request: Request) -> str:
    """The region the request was signed for (ARNs name it), us-east-1 when unsigned."""
    signed = _REGION.search(request.headers.get("authorization", ""))
    return signed.group(1) if signed else "us-east-1"


def _error(code: str, message: str, **extra: str) -> Response:
    return JSONResponse(
        {"__type": code, "Message": message, **extra},
        status_code=_STATUS.get(code, 400),
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": code},
    )
