"""Amazon Textract's asynchronous document analysis (EMULATION: development and tests only).

moto does not implement Amazon Textract, so this router speaks Textract's JSON protocol itself
(``POST /`` with ``X-Amz-Target: Textract.<operation>``), as the Translate emulator does for
Translate. boto3 reaches it through the standard per-service variable
``AWS_ENDPOINT_URL_TEXTRACT``, so the activities call it exactly as they would call Textract.

* ``StartDocumentAnalysis`` reads the document from moto's S3 with boto3 (``AWS_ENDPOINT_URL``)
  and analyses it at once (:mod:`worker.devstack.emulators.textract_reader`: the PDF's real
  text via pypdf, "Label: value" lines and AcroForm fields as FORMS key-value pairs). It is
  idempotent on ``ClientRequestToken``: the same token for the same request answers the same
  ``JobId`` (another document under a used token is ``IdempotentParameterMismatchException``).
  A missing object is ``InvalidS3ObjectException``; a document over 500 MB
  ``DocumentTooLargeException``; neither PDF nor PNG/JPEG/TIFF, or a password-protected PDF,
  ``UnsupportedDocumentException``; a PDF pypdf cannot parse ``BadDocumentException``. Images
  are taken but the emulator reads no text in them (a PAGE block only).
* ``GetDocumentAnalysis`` answers IN_PROGRESS to a job's first ``polls_in_progress`` calls,
  then SUCCEEDED with the blocks, ``MaxResults`` (default and most 1000) at a time with
  ``NextToken``; an unknown job is ``InvalidJobIdException``.
* Switches (in-process on ``app.state.textract``, or over HTTP under ``/textract``):
  ``POST /_emulator/faults {"count": 2, "code": "ProvisionedThroughputExceededException",
  "after": 0, "forever": false, "operation": null}`` (``inject``): after ``after`` requests,
  fail ``count`` requests (all, until cleared, with ``forever``; only that operation when
  named) with that error; ``{"count": 0}`` clears;
  ``POST /_emulator/jobs {"fail_jobs": 1, "reason": "...", "polls_in_progress": 1,
  "start_latency_seconds": 0, "confidence_overrides": {"Invoice No": 80.0}}``
  (``configure_jobs``; any subset): the next ``fail_jobs`` jobs to finish end FAILED with
  ``reason`` as ``StatusMessage``; jobs started from now on stay IN_PROGRESS for
  ``polls_in_progress`` polls; StartDocumentAnalysis answers ``start_latency_seconds`` after
  creating the job; key-value pairs with that key label get that confidence;
  ``GET /_emulator/stats``: requests, jobs started and each job (JobId, ClientRequestToken,
  Bucket, Name, JobStatus) so a test counts Textract jobs per document (``jobs_for``).

The state is kept in memory and, when a state file is given, in that JSON file, so a
restarted dev stack can still answer for a job it started before.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from worker.devstack.emulators.textract_reader import (
    EncryptedDocument,
    PageText,
    UnreadableDocument,
    analysis_blocks,
    is_image,
    is_pdf,
    read_pdf,
)

TARGET_PREFIX = "Textract."
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_DOCUMENT_BYTES = 500 * 1024 * 1024
"""Textract's limit for asynchronous PDF analysis."""
MAX_RESULTS = 1000
FEATURE_TYPES = ("TABLES", "FORMS", "QUERIES", "SIGNATURES", "LAYOUT")
DEFAULT_FAILURE = "Amazon Textract could not process the document (emulated failure)"
THROTTLED = "ProvisionedThroughputExceededException"
OPERATIONS = ("StartDocumentAnalysis", "GetDocumentAnalysis")
_STATUS = {"InternalServerError": 500, "ThrottlingException": 500}
_TOKEN = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class TextractError(Exception):
    """An error Textract answers with: its ``__type`` code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FaultRequest(BaseModel):
    """Fail ``count`` requests (or every one with ``forever``) with ``code`` after letting ``after`` through."""

    count: int = Field(default=0, ge=0)
    code: str = THROTTLED
    after: int = Field(default=0, ge=0)
    forever: bool = False
    operation: str | None = None


class JobSwitchesRequest(BaseModel):
    """How the next jobs behave; fields left out keep their setting."""

    fail_jobs: int | None = Field(default=None, ge=0)
    reason: str | None = Field(default=None, min_length=1)
    polls_in_progress: int | None = Field(default=None, ge=0)
    start_latency_seconds: float | None = Field(default=None, ge=0, le=600)
    confidence_overrides: dict[str, float] | None = None


@dataclass
class JobSwitches:
    """How the next jobs behave (changed through :meth:`TextractEmulator.configure_jobs`)."""

    fail_jobs: int = 0
    reason: str = DEFAULT_FAILURE
    polls_in_progress: int = 1
    start_latency_seconds: float = 0.0
    confidence_overrides: dict[str, float] = field(default_factory=dict)


@dataclass
class Faults:
    """Pending injected errors."""

    after: int = 0
    count: int = 0
    code: str = THROTTLED
    forever: bool = False
    operation: str | None = None

    def take(self, operation: str) -> str | None:
        """The error this request fails with, if any (consumes one)."""
        if not (self.count or self.forever) or (self.operation and self.operation != operation):
            return None
        if self.after:
            self.after -= 1
            return None
        if not self.forever:
            self.count -= 1
        return self.code


class TextractEmulator:
    """State and routes of the Textract emulator."""

    def __init__(self, state_file: Path | None = None, moto_url: str | None = None) -> None:
        self._state_file = state_file
        self._moto_url = moto_url
        self._lock = threading.RLock()
        self._s3: Any = None
        self.switches = JobSwitches()
        self.faults = Faults()
        self.requests = 0
        self.jobs: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self._load()
        self.router = APIRouter()
        # boto3 posts to the endpoint URL itself (no trailing slash); accept both forms.
        for path in ("", "/"):
            self.router.add_api_route(path, self.handle, methods=["POST"], include_in_schema=False)
        self.router.add_api_route("/_emulator/faults", self.set_faults, methods=["POST"])
        self.router.add_api_route("/_emulator/jobs", self.set_job_switches, methods=["POST"])
        self.router.add_api_route("/_emulator/stats", self.stats, methods=["GET"])

    # switches and stats

    def inject(
        self,
        count: int,
        code: str = THROTTLED,
        after: int = 0,
        *,
        forever: bool = False,
        operation: str | None = None,
    ) -> dict[str, Any]:
        """After ``after`` requests, fail ``count`` (every one with ``forever``) with the AWS error
        ``code``, only requests of ``operation`` when given; ``inject(0)`` clears."""
        with self._lock:
            self.faults = Faults(after=after, count=count, code=code, forever=forever, operation=operation)
            return dict(vars(self.faults))

    async def set_faults(self, body: FaultRequest) -> dict[str, Any]:
        """HTTP form of :meth:`inject`."""
        return self.inject(body.count, body.code, body.after, forever=body.forever, operation=body.operation)

    def configure_jobs(
        self,
        *,
        fail_jobs: int | None = None,
        reason: str | None = None,
        polls_in_progress: int | None = None,
        start_latency_seconds: float | None = None,
        confidence_overrides: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """Set what is given: the next ``fail_jobs`` jobs to finish end FAILED with ``reason``;
        jobs started from now on answer IN_PROGRESS to ``polls_in_progress`` polls;
        StartDocumentAnalysis answers ``start_latency_seconds`` after creating the job;
        key-value pairs whose key label is in ``confidence_overrides`` get that confidence
        (0-100) in jobs started from now on. Answers the switches now in force."""
        with self._lock:
            if fail_jobs is not None:
                self.switches.fail_jobs = fail_jobs
                self.switches.reason = reason or DEFAULT_FAILURE
            elif reason:
                self.switches.reason = reason
            if polls_in_progress is not None:
                self.switches.polls_in_progress = polls_in_progress
            if start_latency_seconds is not None:
                self.switches.start_latency_seconds = start_latency_seconds
            if confidence_overrides is not None:
                self.switches.confidence_overrides = dict(confidence_overrides)
            return copy.deepcopy(vars(self.switches))

    async def set_job_switches(self, body: JobSwitchesRequest) -> dict[str, Any]:
        """HTTP form of :meth:`configure_jobs`."""
        return self.configure_jobs(**body.model_dump())

    def reset(self) -> None:
        """Default switches and no pending faults (jobs are kept)."""
        with self._lock:
            self.switches = JobSwitches()
            self.faults = Faults()

    def job_summaries(self) -> list[dict[str, Any]]:
        """Every job started: JobId, ClientRequestToken, Bucket, Name, JobStatus."""
        with self._lock:
            return [
                {key: job[key] for key in ("JobId", "ClientRequestToken", "Bucket", "Name", "JobStatus")}
                for job in self.jobs.values()
            ]

    def jobs_for(self, bucket: str, key: str) -> list[dict[str, Any]]:
        """The jobs started on one document (a repeated ClientRequestToken starts none)."""
        return [job for job in self.job_summaries() if job["Bucket"] == bucket and job["Name"] == key]

    async def stats(self) -> dict[str, Any]:
        """Requests, jobs started and each job."""
        jobs = self.job_summaries()
        return {"requests": self.requests, "jobs_started": len(jobs), "jobs": jobs}

    # protocol

    async def handle(self, request: Request) -> Response:
        """Dispatch on ``X-Amz-Target`` like the real endpoint."""
        target = request.headers.get("x-amz-target", "")
        operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        with self._lock:
            self.requests += 1
            fault = self.faults.take(operation)
        if fault is not None:
            return _error(
                fault, "Rate exceeded" if fault in (THROTTLED, "ThrottlingException") else f"injected {fault}"
            )
        if operation not in OPERATIONS:
            return _error("UnknownOperationException", f"the emulator does not serve {target!r}")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error("SerializationException", "request body is not JSON")
        if not isinstance(body, dict):
            return _error("SerializationException", "request body is not a JSON object")
        try:
            if operation == "StartDocumentAnalysis":
                # Blocking: reads the document from S3 and parses it.
                answer = await asyncio.to_thread(self.start, body)
                if self.switches.start_latency_seconds:
                    await asyncio.sleep(self.switches.start_latency_seconds)
            else:
                answer = await asyncio.to_thread(self.get, body)
        except TextractError as error:
            return _error(error.code, error.message)
        return JSONResponse(answer, media_type=CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    # operations

    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        """StartDocumentAnalysis."""
        bucket, key, version = _location(body)
        features = body.get("FeatureTypes")
        if not isinstance(features, list) or not features or any(feature not in FEATURE_TYPES for feature in features):
            raise TextractError(
                "InvalidParameterException", f"FeatureTypes must be a non-empty list of {', '.join(FEATURE_TYPES)}"
            )
        token = body.get("ClientRequestToken")
        if token is not None and (not isinstance(token, str) or not _TOKEN.match(token)):
            raise TextractError("InvalidParameterException", "ClientRequestToken must match [a-zA-Z0-9-_]{1,64}")
        fingerprint = json.dumps([bucket, key, version, sorted(features)])
        with self._lock:
            known = self._known(token, fingerprint)
        if known:
            return {"JobId": known}
        data = self._document(bucket, key, version)
        document_id = hashlib.sha256(f"{bucket}|{key}|{version}|{time.time_ns()}|{uuid.uuid4()}".encode()).hexdigest()
        with self._lock:
            known = self._known(token, fingerprint)
            if known:
                return {"JobId": known}
            blocks, pages = self._analyse(data, document_id)
            self.jobs[document_id] = {
                "JobId": document_id,
                "ClientRequestToken": token,
                "Bucket": bucket,
                "Name": key,
                "Version": version,
                "FeatureTypes": features,
                "JobTag": body.get("JobTag"),
                "fingerprint": fingerprint,
                "JobStatus": "IN_PROGRESS",
                "StatusMessage": None,
                "polls": self.switches.polls_in_progress,
                "gets": 0,
                "pages": pages,
                "blocks": blocks,
                "started": time.time(),
            }
            if token:
                self.tokens[token] = document_id
            self._save()
        return {"JobId": document_id}

    def _known(self, token: str | None, fingerprint: str) -> str | None:
        if not token or token not in self.tokens:
            return None
        job = self.jobs[self.tokens[token]]
        if job["fingerprint"] != fingerprint:
            raise TextractError(
                "IdempotentParameterMismatchException",
                "A ClientRequestToken input parameter was reused with an operation, but at least one of the "
                "other input parameters is different from the previous call to the operation.",
            )
        return str(job["JobId"])

    def _document(self, bucket: str, key: str, version: str | None) -> bytes:
        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        try:
            size = int(self._client().head_object(**params)["ContentLength"])
            if size > MAX_DOCUMENT_BYTES:
                raise TextractError(
                    "DocumentTooLargeException",
                    "S3 object size is more than the maximum limit 524288000 bytes",
                )
            data: bytes = self._client().get_object(**params)["Body"].read()
        except botocore.exceptions.ClientError:
            raise TextractError(
                "InvalidS3ObjectException",
                "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
            ) from None
        return data

    def _analyse(self, data: bytes, document_id: str) -> tuple[list[dict[str, Any]], int]:
        overrides = self.switches.confidence_overrides
        if is_image(data):
            # Textract takes images; the emulator reads no text in them.
            return analysis_blocks([PageText()], document_id, overrides), 1
        if not is_pdf(data):
            raise TextractError("UnsupportedDocumentException", "Request has unsupported document format")
        try:
            pages = read_pdf(data)
        except EncryptedDocument:
            raise TextractError("UnsupportedDocumentException", "Request has unsupported document format") from None
        except UnreadableDocument:
            raise TextractError("BadDocumentException", "Request has invalid document contents") from None
        if not pages:
            raise TextractError("BadDocumentException", "Request has invalid document contents")
        return analysis_blocks(pages, document_id, overrides), len(pages)

    def get(self, body: dict[str, Any]) -> dict[str, Any]:
        """GetDocumentAnalysis."""
        job_id = body.get("JobId")
        max_results = body.get("MaxResults", MAX_RESULTS)
        if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
            raise TextractError("InvalidParameterException", "MaxResults must be between 1 and 1000")
        with self._lock:
            if not isinstance(job_id, str) or job_id not in self.jobs:
                raise TextractError("InvalidJobIdException", f"Job {job_id!r} not found")
            job = self.jobs[job_id]
            if job["JobStatus"] == "IN_PROGRESS":
                job["gets"] += 1
                if job["gets"] > job["polls"]:
                    if self.switches.fail_jobs > 0:
                        self.switches.fail_jobs -= 1
                        job.update(JobStatus="FAILED", StatusMessage=self.switches.reason)
                    else:
                        job["JobStatus"] = "SUCCEEDED"
                self._save()
            answer: dict[str, Any] = {"JobStatus": job["JobStatus"], "AnalyzeDocumentModelVersion": "1.0"}
            if job["JobStatus"] == "FAILED":
                answer["StatusMessage"] = job["StatusMessage"]
            if job["JobStatus"] != "SUCCEEDED":
                return answer
            start = _offset(body.get("NextToken"), job_id)
            blocks = job["blocks"]
            answer["DocumentMetadata"] = {"Pages": job["pages"]}
            answer["Blocks"] = copy.deepcopy(blocks[start : start + max_results])
            if start + max_results < len(blocks):
                answer["NextToken"] = _token(job_id, start + max_results)
            return answer

    # persistence, as the Translate emulator does it

    def _load(self) -> None:
        if self._state_file and self._state_file.exists():
            state = json.loads(self._state_file.read_text())
            self.jobs, self.tokens = state["jobs"], state["tokens"]

    def _save(self) -> None:
        if self._state_file:
            # Renamed into place: a kill mid-write leaves the previous state, never half a file.
            temporary = self._state_file.with_name(f".{self._state_file.name}.tmp")
            temporary.write_text(json.dumps({"jobs": self.jobs, "tokens": self.tokens}))
            os.replace(temporary, self._state_file)

    def _client(self) -> Any:
        if self._s3 is None:
            self._s3 = boto3.client("s3", endpoint_url=self._moto_url or os.environ["AWS_ENDPOINT_URL"])
        return self._s3


def _location(body: dict[str, Any]) -> tuple[str, str, str | None]:
    location = body.get("DocumentLocation")
    s3_object = location.get("S3Object") if isinstance(location, dict) else None
    if not isinstance(s3_object, dict):
        raise TextractError("InvalidParameterException", "DocumentLocation.S3Object is required")
    bucket, name, version = s3_object.get("Bucket"), s3_object.get("Name"), s3_object.get("Version")
    if not isinstance(bucket, str) or not bucket or not isinstance(name, str) or not name:
        raise TextractError("InvalidParameterException", "DocumentLocation.S3Object needs Bucket and Name")
    return bucket, name, version if isinstance(version, str) and version else None


def _token(job_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{job_id}:{offset}".encode()).decode()


def _offset(token: Any, job_id: str) -> int:
    if token is None:
        return 0
    try:
        owner, _, offset = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        if owner == job_id and int(offset) >= 0:
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise TextractError("InvalidParameterException", "NextToken is not valid for this job")


def _error(code: str, message: str) -> Response:
    return JSONResponse(
        {"__type": code, "Message": message},
        status_code=_STATUS.get(code, 400),
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": code},
    )
