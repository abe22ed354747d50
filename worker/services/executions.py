"""One execution as an operator looks at it: status, input, step timeline, and what a skip
must substitute (the console's execution page)."""

from __future__ import annotations

import asyncio
import datetime
import importlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.common import search_attributes
from activities.common.contracts import STEPS_QUERY, StepControlStatus, StepState
from worker.services.starting import OWNER_MEMO

SECRET_KEYS = re.compile(
    r"token|secret|password|passwd|card|api[_-]?key|private|credential|authorization", re.IGNORECASE
)
"""Input fields never shown: their values are replaced by ``<redacted>``."""

CONTRACT_MODULES = ("activities.",)
"""Only types from the pipelines' contracts are resolved from a step's output type name."""


class NoSuchExecution(Exception):
    """No execution has that workflow id."""


@dataclass(frozen=True)
class ExecutionView:
    """What the execution page shows."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    pipeline: str
    business_key: str
    owner: str
    started_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    input_summary: list[tuple[str, str]] = field(default_factory=list)
    steps: list[StepState] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    steps_unavailable: str = ""
    """Why the step timeline is missing (no worker answered the query in time)."""

    def step(self, name: str) -> StepState | None:
        """The named step, if the execution has run it."""
        return next((s for s in self.steps if s.name == name), None)


async def execution_view(client: Client, workflow_id: str, *, query_timeout: float = 5.0) -> ExecutionView:
    """Describe the execution, summarise its input and read its step timeline."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise NoSuchExecution(f"no execution {workflow_id!r}") from None
        raise
    attributes = described.typed_search_attributes
    steps, unavailable = await _step_status(client, workflow_id, query_timeout)
    return ExecutionView(
        workflow_id=workflow_id,
        run_id=described.run_id,
        workflow_type=described.workflow_type,
        status=described.status.name if described.status else "UNKNOWN",
        pipeline=attributes.get(search_attributes.PIPELINE) or "",
        business_key=attributes.get(search_attributes.BUSINESS_KEY) or "",
        owner=str(await described.memo_value(OWNER_MEMO, default="") or ""),
        started_at=described.start_time,
        closed_at=described.close_time,
        input_summary=await _input_summary(client, workflow_id, described.run_id),
        steps=list(steps.steps) if steps else [],
        waiting=list(steps.waiting) if steps else [],
        steps_unavailable=unavailable,
    )


async def _step_status(client: Client, workflow_id: str, timeout: float) -> tuple[StepControlStatus | None, str]:
    """The ``stepwise.steps`` query's answer, or None and why it is missing."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await asyncio.wait_for(handle.query(STEPS_QUERY, result_type=StepControlStatus), timeout), ""
    except TimeoutError:
        return None, "no worker answered the step query in time"
    except RPCError as error:
        return None, f"the step query failed: {error.message}"
    except Exception as error:  # a workflow without step control, or a query the worker refused
        return None, f"the step query failed: {error}"


async def waiting_step(client: Client, workflow_id: str, step: str, *, query_timeout: float = 5.0) -> StepState | None:
    """``step`` of the execution if it waits for a decision now (the status query only), else None."""
    status, _ = await _step_status(client, workflow_id, query_timeout)
    if status is None or step not in status.waiting:
        return None
    return next((s for s in status.steps if s.name == step), None)


async def _input_summary(client: Client, workflow_id: str, run_id: str) -> list[tuple[str, str]]:
    """The start input's top-level fields, secrets redacted at any depth, long values cut."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        if not payloads:
            return []
        values = await client.data_converter.decode(list(payloads))
        first = redacted(values[0] if values else None)
        if not isinstance(first, dict):
            return [("input", _cut(json.dumps(first, default=str)))]
        return [(key, _cut(_text(value))) for key, value in first.items()]
    return []


def redacted(value: Any) -> Any:
    """``value`` with every field whose name says it is a secret replaced, however deep it is."""
    if isinstance(value, dict):
        return {
            key: "<redacted>" if isinstance(key, str) and SECRET_KEYS.search(key) else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def output_type(name: str) -> type | None:
    """The contract type a step's ``output_type`` names (``module:Class``), or None."""
    module_name, _, class_name = name.partition(":")
    if not class_name or not module_name.startswith(CONTRACT_MODULES):
        return None
    try:
        found = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


@dataclass(frozen=True)
class Substitute:
    """A skip's substitute output as typed into a form: the parsed value, or why it is refused."""

    value: Any = None
    error: str = ""


def check_substitute(state: StepState, text: str) -> Substitute:
    """Validate a substitute output (JSON text) against the step's output contract before sending it."""
    text = text.strip()
    if not text:
        if state.output_required:
            return Substitute(error="this step's output is needed by the next steps: give a substitute output")
        return Substitute()
    try:
        value = json.loads(text)
    except ValueError as error:
        return Substitute(error=f"not JSON: {error}")
    if not state.output_type:
        return Substitute(error="this step takes no substitute output: leave it empty")
    contract = output_type(state.output_type)
    if contract is None:
        return Substitute(error=f"the output contract {state.output_type} is unknown to this console")
    try:
        TypeAdapter(contract).validate_python(value, strict=False)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors())
        return Substitute(error=f"does not fit {contract.__name__}: {problems}")
    return Substitute(value=value)


def example_output(state: StepState) -> str:
    """A JSON skeleton of the step's output contract for the form (field names and types)."""
    contract = output_type(state.output_type) if state.output_type else None
    if contract is None:
        return ""
    schema = TypeAdapter(contract).json_schema()
    properties = schema.get("properties", {})
    return json.dumps({name: spec.get("type", "…") for name, spec in properties.items()}, indent=1)
