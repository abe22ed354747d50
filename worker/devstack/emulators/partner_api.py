"""A paged partner API for the poller (EMULATION: development and tests only).

Each data set is a base URL, ``/partner-api/<dataset>/``:

* ``GET .../metadata`` -> ``{"totalRecords": N, "pageSize": P}``;
* ``GET .../pages/<n>`` -> ``{"page": n, "records": [...]}``, records derived
  deterministically from the data set's name and the record number.

A data set nobody configured has 350 records in pages of 10 (35 pages, the article's
example). ``POST /partner-api/control`` configures one data set (``dataset``) with
``records``, ``page_size``, ``version`` (changes every record's content), and fault
switches: ``fail_pages`` (page -> how many 503s before it answers), ``throttle_pages``
(page -> how many 429s, each with ``Retry-After: <retry_after>``), ``never_pages`` (503
forever), ``refuse_pages`` (404), ``poison_pages`` (a page whose last record holds a NUL
character, which Postgres refuses to store), ``latency_seconds`` and ``redirect_to``
(every request answers 302 to that URL). ``GET /partner-api/control?dataset=`` shows the
switches, the calls per page and the most requests in flight at once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

DEFAULT_RECORDS = 350
DEFAULT_PAGE_SIZE = 10
DATASET_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class DatasetControls(BaseModel):
    """One data set's shape and fault switches; unset fields keep their value."""

    dataset: str = Field(pattern=DATASET_PATTERN)
    records: int | None = Field(default=None, ge=0, le=10_000_000)
    page_size: int | None = Field(default=None, ge=1, le=10_000)
    version: int | None = Field(default=None, ge=0)
    fail_pages: dict[int, int] | None = None
    throttle_pages: dict[int, int] | None = None
    retry_after: str | None = Field(default=None, max_length=64)
    never_pages: list[int] | None = None
    refuse_pages: list[int] | None = None
    poison_pages: list[int] | None = None
    latency_seconds: float | None = Field(default=None, ge=0, le=60)
    redirect_to: str | None = Field(default=None, max_length=2048)


class Dataset:
    """A data set's state."""

    def __init__(self) -> None:
        self.records = DEFAULT_RECORDS
        self.page_size = DEFAULT_PAGE_SIZE
        self.version = 0
        self.fail_pages: dict[int, int] = {}
        self.throttle_pages: dict[int, int] = {}
        self.retry_after = "1"
        self.never_pages: set[int] = set()
        self.refuse_pages: set[int] = set()
        self.poison_pages: set[int] = set()
        self.latency_seconds = 0.0
        self.redirect_to: str | None = None
        self.calls: dict[int, int] = {}
        self.metadata_calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.records // self.page_size))

    def describe(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "page_size": self.page_size,
            "pages": self.pages,
            "version": self.version,
            "fail_pages": self.fail_pages,
            "throttle_pages": self.throttle_pages,
            "retry_after": self.retry_after,
            "never_pages": sorted(self.never_pages),
            "refuse_pages": sorted(self.refuse_pages),
            "poison_pages": sorted(self.poison_pages),
            "latency_seconds": self.latency_seconds,
            "redirect_to": self.redirect_to,
            "calls": {str(page): count for page, count in sorted(self.calls.items())},
            "metadata_calls": self.metadata_calls,
            "max_in_flight": self.max_in_flight,
        }


def record(dataset: str, number: int, version: int) -> dict[str, Any]:
    """Record ``number`` of a data set (deterministic)."""
    return {
        "id": f"{dataset}-{number:07d}",
        "name": f"Customer {number}",
        "balance": (number * 7919 + version * 13) % 100_000 / 100,
        "tier": ("bronze", "silver", "gold")[number % 3],
        "version": version,
    }


class PartnerApi:
    """The emulator's data sets and routes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.datasets: dict[str, Dataset] = {}
        self.router = APIRouter()
        self.router.add_api_route("/control", self.set_controls, methods=["POST"])
        self.router.add_api_route("/control", self.get_controls, methods=["GET"])
        self.router.add_api_route("/{dataset}/metadata", self.metadata, methods=["GET"])
        self.router.add_api_route("/{dataset}/pages/{page}", self.page, methods=["GET"])

    def _dataset(self, name: str) -> Dataset:
        with self._lock:
            return self.datasets.setdefault(name, Dataset())

    async def metadata(self, dataset: str) -> Response:
        """The data set's size."""
        data = self._dataset(dataset)
        data.metadata_calls += 1
        if data.redirect_to:
            return RedirectResponse(data.redirect_to, status_code=302)
        return JSONResponse({"totalRecords": data.records, "pageSize": data.page_size})

    async def page(self, dataset: str, page: int) -> Response:
        """One page, or the fault its switches say."""
        data = self._dataset(dataset)
        with self._lock:
            attempt = data.calls[page] = data.calls.get(page, 0) + 1
            data.in_flight += 1
            data.max_in_flight = max(data.max_in_flight, data.in_flight)
        try:
            if data.latency_seconds:
                await asyncio.sleep(data.latency_seconds)
            return self._answer(dataset, data, page, attempt)
        finally:
            with self._lock:
                data.in_flight -= 1

    def _answer(self, name: str, data: Dataset, page: int, attempt: int) -> Response:
        if data.redirect_to:
            return RedirectResponse(data.redirect_to, status_code=302)
        if not 1 <= page <= data.pages:
            return JSONResponse({"detail": f"no page {page}"}, status_code=404)
        if page in data.refuse_pages:
            return JSONResponse({"detail": f"page {page} is not available to you"}, status_code=404)
        if page in data.never_pages or attempt <= data.fail_pages.get(page, 0):
            return JSONResponse({"detail": "partner backend unavailable"}, status_code=503)
        throttled = data.throttle_pages.get(page, 0)
        if attempt <= throttled:
            return JSONResponse(
                {"detail": "too many requests"}, status_code=429, headers={"Retry-After": data.retry_after}
            )
        first = (page - 1) * data.page_size + 1
        last = min(page * data.page_size, data.records)
        records = [record(name, n, data.version) for n in range(first, last + 1)]
        if page in data.poison_pages and records:
            records[-1]["name"] = "poisoned\u0000record"
        return JSONResponse({"page": page, "records": records})

    async def set_controls(self, controls: DatasetControls) -> dict[str, Any]:
        """Configure a data set (its calls are counted afresh)."""
        data = self._dataset(controls.dataset)
        with self._lock:
            for name in ("records", "page_size", "version", "retry_after", "latency_seconds"):
                value = getattr(controls, name)
                if value is not None:
                    setattr(data, name, value)
            if controls.fail_pages is not None:
                data.fail_pages = dict(controls.fail_pages)
            if controls.throttle_pages is not None:
                data.throttle_pages = dict(controls.throttle_pages)
            for name in ("never_pages", "refuse_pages", "poison_pages"):
                value = getattr(controls, name)
                if value is not None:
                    setattr(data, name, set(value))
            if "redirect_to" in controls.model_fields_set:
                data.redirect_to = controls.redirect_to
            data.calls, data.metadata_calls, data.max_in_flight = {}, 0, 0
        return data.describe()

    async def get_controls(self, dataset: str = Query(pattern=DATASET_PATTERN)) -> dict[str, Any]:
        """A data set's switches and counters."""
        return self._dataset(dataset).describe()
