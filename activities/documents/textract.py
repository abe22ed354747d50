"""Textract's form analysis of one raw document (the article's extraction step).

* **Start**: ``StartDocumentAnalysis`` (FORMS) with a ``ClientRequestToken`` derived from the
  shipment, type and ETag: a retried start, or one whose worker died mid-call, gets the same
  JobId back instead of a second (billed) job. Textract's refusals (unsupported, bad or
  unreadable document, too large) are the document's fault: DOCUMENT_REFUSED, non-retryable.
  Throttling goes through the AWS taxonomy (retryable AwsThrottled).
* **Wait**: one ``GetDocumentAnalysis`` per attempt, retried by the policy (retry as poll):
  IN_PROGRESS -> ANALYSIS_NOT_DONE (benign); FAILED -> DOCUMENT_REFUSED with Textract's
  StatusMessage; SUCCEEDED -> every page of blocks (NextToken) is written to staging as
  ``textract.json``, the LINE text in reading order as ``text.txt`` and the form's key-value
  pairs as ``key_values.json`` (``[{key, value, confidence (0-1), page}]``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, NoReturn

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.common.aws import AwsClients, aws_error_code, to_json_safe
from activities.common.db import SessionMaker, transaction
from activities.common.resources import Resources
from activities.documents.contracts import (
    ANALYSIS_NOT_DONE,
    AWAIT_ANALYSIS,
    DOCUMENT_REFUSED,
    STAGING_PREFIX,
    START_ANALYSIS,
    AnalysisJob,
    AnalysisOutput,
    AnalysisRequest,
    AnalysisWait,
)
from activities.documents.records import set_shipment_status, upsert_document

REFUSING_CODES = frozenset(
    {
        "UnsupportedDocumentException",
        "BadDocumentException",
        "InvalidS3ObjectException",
        "DocumentTooLargeException",
    }
)
"""Textract errors that say the document itself cannot be analysed."""
PAGE_SIZE = 1000
"""Blocks per GetDocumentAnalysis page (Textract's maximum)."""


def request_token(shipment_id: str, doc_type: str, etag: str) -> str:
    """The start's ClientRequestToken: one per document (Textract allows 64 of [a-zA-Z0-9-_])."""
    return hashlib.sha256(f"{shipment_id}\n{doc_type}\n{etag}".encode()).hexdigest()[:64]


def staging_prefix(shipment_id: str, doc_type: str, etag: str) -> str:
    """Where one document's extraction outputs are written."""
    return f"{STAGING_PREFIX}{shipment_id}/{doc_type}/{etag}/"


def raise_refused_or_again(error: ApplicationError, what: str) -> NoReturn:
    """Raise DOCUMENT_REFUSED (caused by ``error``) for a refusal of the document, else ``error``
    itself as it is (chained to itself, its cause would loop the failure converter)."""
    mapped = refused(error, what)
    if mapped is error:
        raise error
    raise mapped from error


def refused(error: ApplicationError, what: str) -> ApplicationError:
    """DOCUMENT_REFUSED for Textract's refusals of the document; the error itself otherwise."""
    code = aws_error_code(error)
    if code not in REFUSING_CODES:
        return error
    return ApplicationError(
        f"Textract cannot read {what}: {error.message}", {"code": code}, type=DOCUMENT_REFUSED, non_retryable=True
    )


# --- Reading blocks (pure) ------------------------------------------------------------


def _children_text(block: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str:
    words: list[str] = []
    for relation in block.get("Relationships", []) or []:
        if relation.get("Type") != "CHILD":
            continue
        for child_id in relation.get("Ids", []):
            child = by_id.get(child_id)
            if child is None:
                continue
            if child.get("BlockType") == "WORD":
                words.append(str(child.get("Text", "")))
            elif child.get("BlockType") == "SELECTION_ELEMENT":
                words.append("[x]" if child.get("SelectionStatus") == "SELECTED" else "[ ]")
    return " ".join(word for word in words if word)


def lines_of(blocks: list[dict[str, Any]]) -> list[str]:
    """LINE text in reading order: Textract lists a page's lines in reading order, pages in order."""
    ordered = sorted(
        ((int(block.get("Page", 1)), index, block) for index, block in enumerate(blocks)),
        key=lambda item: (item[0], item[1]),
    )
    return [str(block.get("Text", "")) for _, _, block in ordered if block.get("BlockType") == "LINE"]


def key_values_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form's key-value pairs: ``{key, value, confidence (0-1), page}`` in document order.

    A pair's confidence is the lower of its key's and its value's: either being misread
    makes the pair unreliable.
    """
    by_id = {str(block.get("Id")): block for block in blocks}
    pairs: list[tuple[int, int, dict[str, Any]]] = []
    for index, block in enumerate(blocks):
        if block.get("BlockType") != "KEY_VALUE_SET" or "KEY" not in (block.get("EntityTypes") or []):
            continue
        value_blocks = [
            by_id[value_id]
            for relation in block.get("Relationships", []) or []
            if relation.get("Type") == "VALUE"
            for value_id in relation.get("Ids", [])
            if value_id in by_id
        ]
        value = " ".join(text for text in (_children_text(v, by_id) for v in value_blocks) if text)
        confidences = [float(block.get("Confidence", 0.0))] + [float(v.get("Confidence", 0.0)) for v in value_blocks]
        page = int(block.get("Page", 1))
        pairs.append(
            (
                page,
                index,
                {
                    "key": _children_text(block, by_id),
                    "value": value,
                    "confidence": round(min(confidences) / 100.0, 4),
                    "page": page,
                },
            )
        )
    return [pair for _, _, pair in sorted(pairs, key=lambda item: (item[0], item[1]))]


# --- Activities -----------------------------------------------------------------------


class DocumentAnalysis:
    """START_ANALYSIS and AWAIT_ANALYSIS."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources

    @activity.defn(name=START_ANALYSIS.name)
    async def start_analysis(self, request: AnalysisRequest) -> AnalysisJob:
        """Start (or find again, by its token) the document's analysis; its JobId."""
        what = f"{request.doc_type} of shipment {request.shipment_id}"
        try:
            started = await self._aws.call(
                "textract",
                "start_document_analysis",
                DocumentLocation={"S3Object": {"Bucket": self._resources.documents_bucket, "Name": request.raw_key}},
                FeatureTypes=["FORMS"],
                ClientRequestToken=request_token(request.shipment_id, request.doc_type, request.etag),
                JobTag=request.doc_type[:64],
            )
        except ApplicationError as error:
            raise_refused_or_again(error, what)
        job_id = str(started["JobId"])
        async with transaction(self._sessions) as connection:
            await upsert_document(connection, request.shipment_id, request.doc_type, request.etag, job_id=job_id)
            await set_shipment_status(connection, request.shipment_id, "EXTRACTING")
        return AnalysisJob(job_id=job_id)

    @activity.defn(name=AWAIT_ANALYSIS.name)
    async def await_analysis(self, request: AnalysisWait) -> AnalysisOutput:
        """One poll; when done, every page of blocks staged as textract.json, text.txt, key_values.json."""
        what = f"{request.doc_type} of shipment {request.shipment_id}"
        params: dict[str, Any] = {"JobId": request.job_id, "MaxResults": PAGE_SIZE}
        try:
            page = await self._aws.call("textract", "get_document_analysis", **params)
        except ApplicationError as error:
            raise_refused_or_again(error, what)
        status = str(page.get("JobStatus", "IN_PROGRESS"))
        if status == "IN_PROGRESS":
            raise ApplicationError(
                f"Textract job {request.job_id} ({what}) is IN_PROGRESS",
                type=ANALYSIS_NOT_DONE,
                category=ApplicationErrorCategory.BENIGN,
            )
        if status not in {"SUCCEEDED", "PARTIAL_SUCCESS"}:
            message = str(page.get("StatusMessage") or "no reason given")
            raise ApplicationError(
                f"Textract could not analyse {what} (job {request.job_id} {status}): {message}",
                {"status": status, "message": message},
                type=DOCUMENT_REFUSED,
                non_retryable=True,
            )
        blocks: list[dict[str, Any]] = list(page.get("Blocks", []))
        warnings: list[Any] = list(page.get("Warnings", []))
        while page.get("NextToken"):
            activity.heartbeat(len(blocks))
            page = await self._aws.call("textract", "get_document_analysis", **params, NextToken=page["NextToken"])
            blocks.extend(page.get("Blocks", []))
            warnings.extend(page.get("Warnings", []))
        lines = lines_of(blocks)
        pairs = key_values_of(blocks)
        prefix = staging_prefix(request.shipment_id, request.doc_type, request.etag)
        pages = int((page.get("DocumentMetadata") or {}).get("Pages", 0)) or len(
            [b for b in blocks if b.get("BlockType") == "PAGE"]
        )
        analysis = {
            "JobId": request.job_id,
            "JobStatus": status,
            "DocumentMetadata": {"Pages": pages},
            "Warnings": to_json_safe(warnings),
            "Blocks": to_json_safe(blocks),
        }
        await self._put(prefix + "textract.json", json.dumps(analysis).encode(), "application/json")
        await self._put(prefix + "text.txt", "\n".join(lines).encode(), "text/plain; charset=utf-8")
        await self._put(prefix + "key_values.json", json.dumps(pairs, indent=1).encode(), "application/json")
        return AnalysisOutput(prefix=prefix, pages=pages, lines=len(lines), key_values=len(pairs))

    async def _put(self, key: str, body: bytes, content_type: str) -> None:
        await self._aws.call(
            "s3", "put_object", Bucket=self._resources.documents_bucket, Key=key, Body=body, ContentType=content_type
        )
