"""The partner API's shape, read defensively: ``<base>metadata`` and ``<base>pages/<n>``.

Metadata is ``{"totalRecords": N, "pageSize": P}``; a page is ``{"records": [{"id": ...}, ...]}``
with each record an object carrying a string or integer ``id``. Anything else is the
partner's fault and is refused (not retried): a page is validated when it is fetched, so
what reaches the queue is already a list of records, and again when it is stored, since the
object in S3 is input too.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

MAX_RECORD_ID = 200
MAX_PAGE_SIZE = 10_000


class PageRefused(ValueError):
    """A body that is not the partner API's (the message says what is wrong)."""


@dataclass(frozen=True)
class Metadata:
    """What the partner says about its data."""

    total_records: int
    page_size: int

    @property
    def pages(self) -> int:
        """Pages to fetch (at least one call confirms an empty data set)."""
        return max(1, math.ceil(self.total_records / self.page_size))


@dataclass(frozen=True)
class Record:
    """One record of a page, with the digest of its content."""

    record_id: str
    data: dict[str, Any]
    content_hash: str


def parse_metadata(body: bytes) -> Metadata:
    """The metadata, or :class:`PageRefused`."""
    document = _json(body, "metadata")
    total, size = document.get("totalRecords"), document.get("pageSize")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise PageRefused("metadata: totalRecords must be a non-negative integer")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
        raise PageRefused(f"metadata: pageSize must be an integer from 1 to {MAX_PAGE_SIZE}")
    return Metadata(total, size)


def parse_page(body: bytes) -> list[Record]:
    """A page's records, or :class:`PageRefused`."""
    document = _json(body, "page")
    records = document.get("records")
    if not isinstance(records, list):
        raise PageRefused("page: 'records' must be a list")
    parsed: list[Record] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise PageRefused(f"page: record {index} is not an object")
        record_id = record.get("id")
        if isinstance(record_id, bool) or not isinstance(record_id, str | int):
            raise PageRefused(f"page: record {index} has no string or integer 'id'")
        text_id = str(record_id)
        if not 1 <= len(text_id) <= MAX_RECORD_ID:
            raise PageRefused(f"page: record {index} has an id of {len(text_id)} characters (1-{MAX_RECORD_ID})")
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
        parsed.append(Record(text_id, record, hashlib.sha256(canonical.encode()).hexdigest()))
    return parsed


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise PageRefused(f"{what}: not JSON") from None
    if not isinstance(document, dict):
        raise PageRefused(f"{what}: not a JSON object")
    return document
