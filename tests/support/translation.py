"""Helpers of the translation pipeline's tests: projects to drop, requests, waiting for a status."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.translation.contracts import (
    Pricing,
    ProjectProgress,
    ProjectRequest,
    ProjectResult,
    project_workflow_id,
)
from worker.services.translation import project_request, signal_project, upload_files
from worker.settings import Settings
from workflows.translation.project import PROGRESS_QUERY, TranslationProjectWorkflow

DEMO_DIR = Path(__file__).resolve().parents[2] / "worker" / "devstack" / "data" / "translation-demo"
DEMO_FILES = ("guide.xlf", "ui.xlf", "terminology/glossary.csv")


def demo_files() -> list[tuple[str, bytes]]:
    """The demo project's files, as ``make run`` drops them."""
    return [(name, (DEMO_DIR / name).read_bytes()) for name in DEMO_FILES]


def xliff12(units: dict[str, str], source: str = "en", target: str = "es") -> bytes:
    """A small XLIFF 1.2 document with ``units`` (id -> source text)."""
    body = "".join(f'<trans-unit id="{uid}"><source>{text}</source></trans-unit>' for uid, text in units.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">'
        f'<file original="doc" source-language="{source}" target-language="{target}" datatype="plaintext">'
        f"<body>{body}</body></file></xliff>"
    ).encode()


def unique_project(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def fast_request(
    settings: Settings, resources: Resources, customer: str, project: str, **changes: Any
) -> ProjectRequest:
    """The request the intake would build, with test-sized waits (and any ``changes``)."""
    request = project_request(settings, resources, customer, project, owner=None)
    defaults: dict[str, Any] = {"settle_seconds": 0.3, "poll_seconds": 0.3, "review_attention": None}
    defaults.update(changes)
    return replace(request, **defaults)


async def submit(
    client: Client,
    aws: AwsClients,
    resources: Resources,
    settings: Settings,
    request: ProjectRequest,
    files: list[tuple[str, bytes]],
) -> WorkflowHandle[Any, ProjectResult]:
    """Upload ``files`` and signal-with-start the project once (as one S3 event would)."""
    keys = await upload_files(aws, resources, request.customer, request.project, files)
    await signal_project(client, request, keys[-1], settings.worker.task_queue)
    return client.get_workflow_handle_for(
        TranslationProjectWorkflow.run, project_workflow_id(request.customer, request.project)
    )


async def wait_status(handle: WorkflowHandle[Any, Any], status: str, timeout: float = 60) -> ProjectProgress:
    """Poll the progress query until the project reaches ``status``."""
    deadline = time.monotonic() + timeout
    last: ProjectProgress | None = None
    while time.monotonic() < deadline:
        try:
            last = await handle.query(PROGRESS_QUERY, result_type=ProjectProgress)
        except RPCError:
            last = None
        if last is not None and last.status == status:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{handle.id} never reached {status}; last progress {last}")


def pricing(standard: str, custom: str = "60") -> Pricing:
    return Pricing(standard=standard, custom=custom)
