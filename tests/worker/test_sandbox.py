"""Stepwise's workflow runner: Temporal's sandbox, entered through code compiled once and
not entered at all to look up a payload's serialization context."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.worker.sandbox_probe import EchoesThroughActivities, ReadsTheWallClock
from worker.speedups.sandbox import WORKFLOW_RUNNER, compiled_entry


async def test_the_sandbox_still_refuses_a_non_deterministic_call_and_compiles_its_entries_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    compiled_entry.cache_clear()
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[ReadsTheWallClock], workflow_runner=WORKFLOW_RUNNER
    ):
        for _ in range(3):
            outcome = await time_env.client.execute_workflow(
                ReadsTheWallClock.run, id=f"sandbox-{uuid.uuid4()}", task_queue=task_queue
            )
            assert outcome.startswith("refused: "), outcome
            assert "datetime.datetime.now" in outcome

    entries = compiled_entry.cache_info()
    # Creating an instance and activating it: a few distinct snippets, compiled the first
    # time and reused by every later run.
    assert 0 < entries.misses <= 6, entries
    assert entries.hits >= 2 * entries.misses, entries


@activity.defn
async def echo(text: str) -> str:
    return text


class RecordingCodec(PayloadCodec, WithSerializationContext):
    """A pass-through codec that records the serialization context of every payload it sees."""

    def __init__(self, seen: list[tuple[str, Any]], context: SerializationContext | None = None) -> None:
        self.seen = seen
        self.context = context

    def with_context(self, context: SerializationContext) -> RecordingCodec:
        return RecordingCodec(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(("encode", _described(self.context)))
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(("decode", _described(self.context)))
        return list(payloads)


def _described(context: SerializationContext | None) -> Any:
    """The parts of a context that do not change from run to run."""
    if isinstance(context, ActivitySerializationContext):
        return ("activity", context.activity_type, context.is_local, context.activity_task_queue)
    if isinstance(context, WorkflowSerializationContext):
        return ("workflow", context.namespace)
    return context


async def _contexts_seen(env: WorkflowEnvironment, task_queue: str, runner: WorkflowRunner) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    converter = dataclasses.replace(DataConverter.default, payload_codec=RecordingCodec(seen))
    client = Client(**{**env.client.config(), "data_converter": converter})
    async with Worker(
        client, task_queue=task_queue, workflows=[EchoesThroughActivities], activities=[echo], workflow_runner=runner
    ):
        result = await client.execute_workflow(
            EchoesThroughActivities.run, "hello", id=f"contexts-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == "hello"
    return seen


async def test_payloads_get_the_serialization_contexts_the_stock_sandbox_gives_them(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    # One after the other on the same task queue: the first worker has stopped when the second starts.
    stock = await _contexts_seen(time_env, task_queue, SandboxedWorkflowRunner())
    ours = await _contexts_seen(time_env, task_queue, WORKFLOW_RUNNER)

    assert ("encode", ("activity", "echo", False, task_queue)) in stock  # the codec sees activity contexts
    assert ("encode", ("activity", "echo", True, task_queue)) in stock  # ... and local ones
    assert ours == stock
