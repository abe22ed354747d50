"""A form gate's answers through the API (`POST /workflows/{id}/decisions`) and the CLI (`--answer`)."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.decision_log import DecisionLog
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.step_control import StepControlActivities
from tests.conftest import OPERATOR_NAME
from tests.support.processes import stack_env, stepwise
from tests.support.step_control import audits, wait_waiting
from tests.workflows.common.form_probe import INVOICE_FORM, VALID_ANSWERS, FormProbeInput, FormProbeWorkflow
from worker.commands.common import CliError
from worker.commands.operations import parse_answers
from worker.settings import Settings
from workflows.common.form_answers import ANSWER_PATTERN


@pytest.fixture
async def form_worker(
    dev_env: WorkflowEnvironment, task_queue: str, aws: AwsClients, sessions: SessionMaker, resources: Resources
) -> AsyncIterator[Worker]:
    control = StepControlActivities(DecisionLog(sessions), Notifier(aws, sessions), resources)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[FormProbeWorkflow],
        activities=[control.record_decision, control.notify],
    ) as worker:
        yield worker


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"x" * 65: "1"}, "answers.xxxxxxxxxx"),
        ({"total": "9" * 501}, "answers.total"),
        ({f"f{i}": "1" for i in range(51)}, "answers"),
        ({"total": "1\n2"}, "answers.total"),
        ({"total": "Northwind\tTraders"}, "answers.total"),
        ({"total": "12480.00\t"}, "answers.total"),
        ({"total": "1\x7f"}, "answers.total"),
        ({"total": "1\x80"}, "answers.total"),
        ({"total": "1\x852"}, "answers.total"),
        ({"total": "1\u20282"}, "answers.total"),
        ({"total": "1\u20292"}, "answers.total"),
        ({"to\ttal": "1"}, "answers"),
        ({"total\x7f": "1"}, "answers"),
        ({"total\x85": "1"}, "answers"),
        ({"total\u2028": "1"}, "answers"),
        ({"total": 12480}, "answers.total"),
        ({"": "1"}, "answers"),
        (["total"], "answers"),
    ],
)
async def test_malformed_answers_are_a_422_naming_the_field(api: httpx.AsyncClient, answers: Any, field: str) -> None:
    response = await api.post(
        "/workflows/w/decisions", json={"step": "review", "action": "approve", "answers": answers}
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


async def test_the_openapi_document_describes_answers(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()["components"]["schemas"]["DecisionRequest"]
    answers = schema["properties"]["answers"]
    assert answers["type"] == "object" and answers["maxProperties"] == 50
    assert answers["propertyNames"]["maxLength"] == 64
    assert answers["additionalProperties"]["maxLength"] == 500
    assert "form" in answers["description"]
    # What is refused, in the patterns (the gate's own rule) and in words.
    assert answers["propertyNames"]["pattern"] == answers["additionalProperties"]["pattern"] == ANSWER_PATTERN
    for char in ["\t", "\n", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]:
        assert re.fullmatch(ANSWER_PATTERN, f"a{char}b") is None
    assert re.fullmatch(ANSWER_PATTERN, "Zürich \xa0 東京") is not None
    for words in ("tab", "DEL", "C1", "U+0085", "U+2028", "U+2029"):
        assert words in answers["description"]


async def test_answers_through_the_api_are_checked_by_the_gate_and_audited(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, task_queue: str, form_worker: Worker, sessions: SessionMaker
) -> None:
    handle = await dev_env.client.start_workflow(
        FormProbeWorkflow.run, FormProbeInput(form=INVOICE_FORM), id=f"form-{uuid.uuid4()}", task_queue=task_queue
    )
    await wait_waiting(handle, "review")
    url = f"/workflows/{handle.id}/decisions"
    refused = await api.post(
        url, json={"step": "review", "action": "approve", "answers": {**VALID_ANSWERS, "total": "12,480.00"}}
    )
    assert refused.status_code == 409
    assert "answers.total:" in refused.json()["detail"]
    accepted = await api.post(url, json={"step": "review", "action": "approve", "answers": VALID_ANSWERS})
    assert accepted.status_code == 200, accepted.text
    result = await handle.result()
    assert result.answers == VALID_ANSWERS and result.operator == OPERATOR_NAME
    assert [r.answers for r in await audits(sessions, handle.id)] == [VALID_ANSWERS]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--answer", "total"], "--answer must be NAME=VALUE (got 'total')"),
        (["--answer", "=12"], "--answer must be NAME=VALUE"),
        (["--answer", "total=1", "--answer", "total=2"], "--answer total is given twice"),
        (["--answer", "total=12480.00\t"], "no control characters or line breaks"),
        (["--answer", "to\ttal=1"], "no control characters or line breaks"),
        (["--answer", "total=1\x7f"], "U+007F"),
        (["--answer", "total=1\x85"], "U+0085"),
        (["--answer", "total=1\u2028"], "U+2028"),
    ],
)
def test_a_malformed_cli_answer_is_one_line_and_a_non_zero_exit(args: list[str], says: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STEPWISE_TEMPORAL__ADDRESS"}
    done = stepwise("decide", "wf-1", "review", "approve", "--operator", "ada", *args, env=env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\r", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"])
def test_cli_answers_follow_the_gates_rule(char: str) -> None:
    for item in (f"total=1{char}2", f"total={char}12", f"to{char}tal=1", f"{char}total=1"):
        with pytest.raises(CliError) as refused:
            parse_answers([item])
        assert "no control characters or line breaks" in str(refused.value)
        assert f"U+{ord(char):04X}" in str(refused.value) and "\n" not in str(refused.value)


def test_cli_answers_are_bounded_as_in_the_api() -> None:
    assert parse_answers([" total =  12480.00 "]) == {"total": "  12480.00 "}  # the gate strips the value
    assert len(parse_answers([f"f{i}=1" for i in range(50)])) == 50
    assert len(parse_answers(["n" * 64 + "=" + "x" * 500])) == 1
    for items, says in [
        ([f"f{i}=1" for i in range(51)], "at most 50 --answer options (got 51)"),
        (["n" * 65 + "=1"], "a field name has at most 64 characters"),
        (["total=" + "x" * 501], "a value has at most 500 characters (got 501)"),
    ]:
        with pytest.raises(CliError) as refused:
            parse_answers(items)
        assert says in str(refused.value)


async def test_cli_answers_approve_a_form_gate(
    dev_env: WorkflowEnvironment, task_queue: str, settings: Settings, form_worker: Worker, sessions: SessionMaker
) -> None:
    handle = await dev_env.client.start_workflow(
        FormProbeWorkflow.run, FormProbeInput(form=INVOICE_FORM), id=f"form-{uuid.uuid4()}", task_queue=task_queue
    )
    await wait_waiting(handle, "review")
    env = stack_env(dev_env, settings)
    args = [arg for name, value in VALID_ANSWERS.items() for arg in ("--answer", f"{name}={value}")]
    bad = [*args[:-1], "hs_codes=abc"]
    refused = await asyncio.to_thread(
        stepwise, "decide", handle.id, "review", "approve", "--operator", "ada", *bad, env=env
    )
    assert refused.returncode == 2 and "answers.hs_codes:" in refused.stderr
    done = await asyncio.to_thread(
        stepwise, "decide", handle.id, "review", "approve", "--operator", "ada", *args, env=env
    )
    assert done.returncode == 0, done.stderr
    assert (await handle.result()).answers == VALID_ANSWERS
    assert [(r.operator, r.answers) for r in await audits(sessions, handle.id)] == [("ada", VALID_ANSWERS)]
    # The decision log reads the answers back, one per line under the decision.
    log = await asyncio.to_thread(stepwise, "decisions", "--workflow", handle.id, env=env)
    assert log.returncode == 0, log.stderr
    lines = log.stdout.splitlines()
    assert "approve" in lines[0]
    assert lines[1:] == [f"    {name} = {value}" for name, value in sorted(VALID_ANSWERS.items())]
