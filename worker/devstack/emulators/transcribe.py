"""The half of Amazon Transcribe that moto lacks (EMULATION: development and tests only).

moto implements StartTranscriptionJob and GetTranscriptionJob, but (1) a job's status
moves only when GetTranscriptionJob is called, and in moto's default "immediate" mode it
reports COMPLETED at once without ever setting ``TranscriptFileUri``; (2) it never writes
the transcript document. This router sits in front of moto for the Transcribe API only
(boto3 reaches it through ``AWS_ENDPOINT_URL_TRANSCRIBE``), forwards every request
unchanged, and fills exactly those gaps:

* Before each StartTranscriptionJob it sets moto's state transition for transcription
  jobs to "manual": a job moves QUEUED -> IN_PROGRESS -> COMPLETED one status every
  ``polls_per_status`` GetTranscriptionJob calls (default 1, so COMPLETED at the third poll).
* When moto reports a job COMPLETED, it writes Transcribe's output document at the job's
  output location before answering. The text comes from the sidecar
  ``<media key>.transcript.txt`` stored beside the source media, so demos and tests decide
  what was "said". The job's media is a copy, so the sidecar is looked up by content:
  beside any object with the same ETag.
* A sidecar whose text starts with ``FAILED:`` makes the job FAILED with the rest as
  Transcribe's ``FailureReason``; media without a sidecar fails too, saying so.

Switches: ``POST /_emulator/settings {"polls_per_status": 5}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from typing import Any
from urllib.parse import unquote, urlparse

import boto3
import botocore.exceptions
import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

SIDECAR_SUFFIX = ".transcript.txt"
FAILED_PREFIX = "FAILED:"
TARGET_PREFIX = "Transcribe."
MODEL_NAME = "transcribe::transcriptionjob"
_TOKEN = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
_FORWARDED = ("content-type", "x-amz-target", "x-amz-date", "authorization", "x-amz-security-token")


class TranscribeSettings(BaseModel):
    """How many GetTranscriptionJob calls move a job one status."""

    polls_per_status: int = Field(default=1, ge=1)


def transcript_document(job_name: str, text: str) -> dict[str, Any]:
    """Transcribe's output document for ``text``: transcripts plus word-level items."""
    items: list[dict[str, Any]] = []
    clock = 0.0
    for index, token in enumerate(_TOKEN.findall(text)):
        item: dict[str, Any] = {"id": index, "alternatives": [{"confidence": "0.99", "content": token}]}
        if re.match(r"\w", token):
            item.update(type="pronunciation", start_time=f"{clock:.2f}", end_time=f"{clock + 0.35:.2f}")
            clock += 0.4
        else:
            item.update(type="punctuation")
            item["alternatives"][0]["confidence"] = "0.0"
        items.append(item)
    return {
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {"transcripts": [{"transcript": text}], "items": items},
    }


class TranscribeGapFiller:
    """State and routes of the Transcribe gap-filler."""

    def __init__(self, moto_url: str | None = None) -> None:
        self._moto_url = moto_url
        self._lock = threading.Lock()
        self.polls_per_status = 1
        self._transition_set = False
        self.failed: dict[str, str] = {}
        self.written: set[str] = set()
        self.router = APIRouter()
        # boto3 posts to the endpoint URL itself (no trailing slash); accept both forms.
        for path in ("", "/"):
            self.router.add_api_route(path, self.handle, methods=["POST"], include_in_schema=False)
        self.router.add_api_route("/_emulator/settings", self.configure, methods=["POST"])

    @property
    def moto_url(self) -> str:
        """moto's endpoint (the general ``AWS_ENDPOINT_URL`` when not given)."""
        return self._moto_url or os.environ["AWS_ENDPOINT_URL"]

    async def configure(self, settings: TranscribeSettings) -> TranscribeSettings:
        """Change how fast jobs advance (from the next request on)."""
        self.polls_per_status = settings.polls_per_status
        self._transition_set = False
        return settings

    async def handle(self, request: Request) -> Response:
        """Forward to moto; fill in status, transcript file or failure on the way back."""
        operation = request.headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
        async with httpx.AsyncClient(base_url=self.moto_url, timeout=30) as moto:
            # Set before every new job too: moto's state manager is global and may be reset.
            if operation == "StartTranscriptionJob" or not self._transition_set:
                transition = {"progression": "manual", "times": self.polls_per_status}
                await moto.post(
                    "/moto-api/state-manager/set-transition", json={"model_name": MODEL_NAME, "transition": transition}
                )
                self._transition_set = True
            answer = await moto.post("/", content=body, headers=headers)
        content = answer.content
        if answer.status_code == 200 and operation in ("StartTranscriptionJob", "GetTranscriptionJob"):
            document = json.loads(content)
            await asyncio.to_thread(self._fill, document["TranscriptionJob"])
            content = json.dumps(document).encode()
        return Response(content, status_code=answer.status_code, media_type=answer.headers.get("content-type"))

    def _fill(self, job: dict[str, Any]) -> None:
        job.setdefault("TranscriptionJobStatus", "QUEUED")
        name = job["TranscriptionJobName"]
        if job["TranscriptionJobStatus"] == "COMPLETED" and name not in self.written and name not in self.failed:
            self._complete(job)
        if name in self.failed:
            job["TranscriptionJobStatus"] = "FAILED"
            job["FailureReason"] = self.failed[name]
            job.pop("Transcript", None)

    def _complete(self, job: dict[str, Any]) -> None:
        if "Transcript" not in job:
            # Completed before this process configured moto (a replayed recording): moto never
            # set the output location, and the transcript was written when the job first completed.
            return
        s3: Any = boto3.client("s3", endpoint_url=self.moto_url)
        media = urlparse(job["Media"]["MediaFileUri"])
        text = _find_sidecar(s3, media.netloc, media.path.lstrip("/"))
        name = job["TranscriptionJobName"]
        with self._lock:
            if text is None:
                self.failed[name] = (
                    f"No speech could be read from {job['Media']['MediaFileUri']} (development emulator: no "
                    f"{SIDECAR_SUFFIX} sidecar beside this media or any copy of it)"
                )
                return
            if text.startswith(FAILED_PREFIX):
                self.failed[name] = text[len(FAILED_PREFIX) :].strip()
                return
            output = urlparse(job["Transcript"]["TranscriptFileUri"])
            bucket, _, key = unquote(output.path).lstrip("/").partition("/")
            document = json.dumps(transcript_document(name, text.strip()), ensure_ascii=False)
            s3.put_object(Bucket=bucket, Key=key, Body=document.encode(), ContentType="application/json")
            self.written.add(name)


def _find_sidecar(s3: Any, bucket: str, key: str) -> str | None:
    """The sidecar text beside ``key``, or beside any object with the same content."""
    beside = _read(s3, bucket, key + SIDECAR_SUFFIX)
    if beside is not None:
        return beside
    try:
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    except botocore.exceptions.ClientError:
        return None
    for candidate in s3.list_buckets()["Buckets"]:
        etags: dict[str, str] = {}
        sidecars: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=candidate["Name"]):
            for item in page.get("Contents", []):
                etags[item["Key"]] = item["ETag"]
                if item["Key"].endswith(SIDECAR_SUFFIX):
                    sidecars.append(item["Key"])
        for sidecar in sidecars:
            if etags.get(sidecar[: -len(SIDECAR_SUFFIX)]) == etag:
                return _read(s3, candidate["Name"], sidecar)
    return None


def _read(s3: Any, bucket: str, key: str) -> str | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError:
        return None
    return body.decode("utf-8")
