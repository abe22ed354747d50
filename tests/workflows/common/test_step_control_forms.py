"""Step control's gate with a typed form, and ``wait_for``.

The form gate runs on the dev server with the real step-control activities (audit rows in
Postgres); ``wait_for``'s reminders and escalations on the time-skipping server with recorders.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.contracts import (
    DECIDE_UPDATE,
    DECISION_SIGNAL,
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    AttentionNotice,
    AttentionPolicy,
    DecisionAudit,
    DecisionOutcome,
    FormField,
    NoticeSent,
    ReviewForm,
    StepDecision,
)
from activities.common.db import SessionMaker
from activities.common.decision_log import DecisionLog
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.common.step_control import StepControlActivities
from tests.support.mocks import mock_activity
from tests.support.step_control import audits, step_status, wait_waiting
from tests.workflows.common.form_probe import (
    INVOICE_FORM,
    SUPPLY_SIGNAL,
    VALID_ANSWERS,
    FormProbeInput,
    FormProbeWorkflow,
)
from workflows.common.form_answers import (
    ANSWER_PATTERN,
    answer_problem,
    answers_problem,
    audited,
    field_problems,
    form_problem,
    refused_character,
)

HOUR = 3600.0
REFUSED = ["\x00", "\t", "\n", "\r", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"]
"""One of each kind the rule refuses: C0 (tab, line breaks), DEL, C1 (NEL), the Unicode separators."""


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


# ----- the rules, per kind ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("text", "Northwind Traders"),
        ("date", "2026-11-28"),
        ("amount", "12480.00"),
        ("amount", "0"),
        ("amount", "12.5"),
        ("currency", "EUR"),
        ("codes", "8471.30, 8473.30"),
        ("codes", "8471"),
    ],
)
def test_valid_answers_pass(kind: str, value: str) -> None:
    assert answer_problem(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("text", "   ", "required"),
        ("text", "x" * 501, "at most 500"),
        ("text", "two\nlines", "line breaks"),
        ("date", "28/11/2026", "YYYY-MM-DD"),
        ("date", "2026-02-30", "not a real date"),
        ("amount", "12,480.00", "thousands separators"),
        ("amount", "-5", "non-negative"),
        ("amount", "1.234", "two decimals"),
        ("currency", "usd", "three capital letters"),
        ("currency", "US", "three capital letters"),
        ("codes", "8471.30, abc", "'abc'"),
        ("codes", "8471.30,,8473", "''"),
        ("colour", "red", "unknown field kind"),
    ],
)
def test_invalid_answers_say_why(kind: str, value: str, says: str) -> None:
    problem = answer_problem(kind, value)
    assert problem is not None and says in problem


def test_a_form_needs_every_field_and_no_other() -> None:
    answers = {**VALID_ANSWERS, "total": "12,480.00", "colour": "red"}
    del answers["currency"]
    problems = field_problems(INVOICE_FORM, answers)
    assert set(problems) == {"total", "colour", "currency"}
    line = form_problem(INVOICE_FORM, answers)
    assert line is not None
    assert "missing answers for currency" in line
    assert "'colour'" in line and "answers.total:" in line
    assert form_problem(INVOICE_FORM, VALID_ANSWERS) is None


@pytest.mark.parametrize("char", REFUSED, ids=_code)
def test_a_refused_character_is_refused_anywhere_in_an_answer_or_a_field_name(char: str) -> None:
    for value in (f"Northwind{char}Traders", f"{char}Northwind", f"Northwind{char}"):  # stripping hides none
        problem = answer_problem("text", value)
        assert problem is not None and "no control characters or line breaks" in problem and _code(char) in problem
    problem = answers_problem({"total": f"12480.00{char}"})
    assert problem is not None and problem.startswith("answers.total: no control characters") and _code(char) in problem
    problem = answers_problem({f"to{char}tal": "1"})
    assert problem is not None and problem.startswith("field name ") and _code(char) in problem
    problem = form_problem(INVOICE_FORM, {**VALID_ANSWERS, "total": f"{char}12480.00"})
    assert problem is not None and problem.startswith("answers.total: no control characters")
    # fullmatch: "$" then means the end of the text, as in JSON Schema and pydantic (re.search would admit "ab\n").
    assert re.fullmatch(ANSWER_PATTERN, f"a{char}b") is None and re.fullmatch(ANSWER_PATTERN, f"ab{char}") is None


@pytest.mark.parametrize("text", ["Northwind Traders Ltd.", "Zürich", "東京 (Tokyo)", "a\xa0b", "€ 12,480", ""])
def test_the_pattern_and_the_check_admit_the_same_text(text: str) -> None:
    assert refused_character(text) is None and re.fullmatch(ANSWER_PATTERN, text) is not None


def test_answers_are_bounded_whatever_the_form() -> None:
    assert answers_problem({f"f{i}": "1" for i in range(50)}) is None
    assert answers_problem({f"f{i}": "1" for i in range(51)}) == "at most 50 answers (got 51)"
    assert answers_problem({"n" * 64: "x" * 500}) is None
    assert "at most 64 characters (got 65" in (answers_problem({"n" * 65: "1"}) or "")
    assert (answers_problem({"total": "x" * 501}) or "").startswith("answers.total: at most 500 characters (got 501)")
    assert answers_problem({"": "1"}) == "an answer's field name must not be empty"
    # Surrounding spaces count, as in the API: 501 characters are refused though 499 remain stripped.
    assert "at most 500 characters (got 501)" in (answer_problem("text", " " + "x" * 499 + " ") or "")
    # A form is not listed 60 unknown names: the count is refused first.
    many = {**VALID_ANSWERS, **{f"extra_{i}": "1" for i in range(60)}}
    assert form_problem(INVOICE_FORM, many) == f"at most 50 answers (got {len(many)})"


def test_the_audit_keeps_well_formed_answers_stripped_and_malformed_ones_not_at_all() -> None:
    assert audited({"total": "  12480.00 ", "colour": " red"}) == {"total": "12480.00", "colour": "red"}
    assert audited({"total": "12480.00\t"}) == {}
    assert audited({f"f{i}": "1" for i in range(51)}) == {}
    assert audited({}) == {}


# ----- the gate, on the dev server ----------------------------------------------------------------------------------


@pytest.fixture
async def form_worker(
    dev_env: WorkflowEnvironment, task_queue: str, aws: AwsClients, sessions: SessionMaker, resources: Resources
) -> AsyncIterator[Worker]:
    """A worker with the form probe and the real step-control activities."""
    control = StepControlActivities(DecisionLog(sessions), Notifier(aws, sessions), resources)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[FormProbeWorkflow],
        activities=[control.record_decision, control.notify],
    ) as worker:
        yield worker


async def _start(env: WorkflowEnvironment, task_queue: str, request: FormProbeInput) -> WorkflowHandle[Any, Any]:
    return await env.client.start_workflow(
        FormProbeWorkflow.run, request, id=f"form-probe-{uuid.uuid4()}", task_queue=task_queue
    )


async def _refused(handle: WorkflowHandle[Any, Any], decision: StepDecision) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(DECIDE_UPDATE, decision, result_type=DecisionOutcome)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def test_a_form_gate_shows_its_form_refuses_bad_answers_and_returns_and_audits_good_ones(
    dev_env: WorkflowEnvironment, task_queue: str, form_worker: Worker, sessions: SessionMaker
) -> None:
    handle = await _start(dev_env, task_queue, FormProbeInput(form=INVOICE_FORM, audience="reviewers"))
    waiting = await wait_waiting(handle, "review")
    assert waiting.kind == "gate" and waiting.status == "waiting"
    assert waiting.form == INVOICE_FORM
    assert waiting.allowed_actions == ["approve", "reject"]

    message = await _refused(handle, StepDecision("review", "approve", operator="rita"))
    assert "missing answers for billing_company, invoice_date, total, currency, hs_codes" in message
    bad = {**VALID_ANSWERS, "invoice_date": "2026-02-30", "currency": "usd"}
    message = await _refused(handle, StepDecision("review", "approve", operator="rita", answers=bad))
    assert "answers.invoice_date: not a real date" in message and "answers.currency:" in message
    message = await _refused(
        handle, StepDecision("review", "approve", operator="rita", answers={**VALID_ANSWERS, "colour": "red"})
    )
    assert "unknown fields 'colour'" in message
    message = await _refused(handle, StepDecision("review", "reject", operator="rita"))
    assert "needs a reason" in message
    message = await _refused(
        handle, StepDecision("review", "reject", operator="rita", reason="illegible", answers=VALID_ANSWERS)
    )
    assert "answers apply only to an approve" in message
    assert await audits(sessions, handle.id) == []  # refused updates leave nothing

    answers = {**VALID_ANSWERS, "billing_company": "  Northwind Traders Ltd  "}
    outcome: DecisionOutcome = await handle.execute_update(
        DECIDE_UPDATE,
        StepDecision("review", "approve", operator="rita", reason="checked", answers=answers),
        result_type=DecisionOutcome,
    )
    assert outcome.action == "approve" and not outcome.duplicate
    result = await handle.result()
    assert result.approved is True and result.operator == "rita"
    assert result.answers == VALID_ANSWERS  # stripped, every field
    rows = await audits(sessions, handle.id)
    assert [(r.step, r.action, r.operator, r.outcome, r.via) for r in rows] == [
        ("review", "approve", "rita", "accepted", "update")
    ]
    assert rows[0].answers == VALID_ANSWERS
    state = next(s for s in (await step_status(handle)).steps if s.name == "review")
    assert state.status == "approved" and state.form is None


async def test_form_answers_by_signal_are_checked_the_same_and_a_refusal_is_audited_with_them(
    dev_env: WorkflowEnvironment, task_queue: str, form_worker: Worker, sessions: SessionMaker
) -> None:
    handle = await _start(dev_env, task_queue, FormProbeInput(form=INVOICE_FORM))
    await wait_waiting(handle, "review")
    bad = {**VALID_ANSWERS, "total": "12,480.00"}
    await handle.signal(DECISION_SIGNAL, StepDecision("review", "approve", operator="sig", answers=bad))
    await handle.signal(DECISION_SIGNAL, StepDecision("review", "approve", operator="sig", answers=VALID_ANSWERS))
    result = await handle.result()
    assert result.approved is True and result.answers == VALID_ANSWERS
    rows = await audits(sessions, handle.id)
    assert [(r.action, r.outcome, r.via) for r in rows] == [
        ("approve", "rejected", "signal"),
        ("approve", "accepted", "signal"),
    ]
    assert rows[0].rejection is not None and "answers.total:" in rows[0].rejection
    assert rows[0].answers == bad
    assert rows[1].answers == VALID_ANSWERS


async def test_refused_characters_and_oversized_answers_are_refused_by_the_update_and_the_signal_alike(
    dev_env: WorkflowEnvironment, task_queue: str, form_worker: Worker, sessions: SessionMaker
) -> None:
    handle = await _start(dev_env, task_queue, FormProbeInput(form=INVOICE_FORM))
    await wait_waiting(handle, "review")
    for char in ["\t", "\x7f", "\x80", "\x85", "\u2028", "\u2029"]:
        padded = {**VALID_ANSWERS, "billing_company": f"Northwind{char}Traders"}
        message = await _refused(handle, StepDecision("review", "approve", operator="rita", answers=padded))
        assert message.startswith("answers.billing_company: no control characters") and _code(char) in message
        named = {**VALID_ANSWERS, f"colour{char}": "red"}
        message = await _refused(handle, StepDecision("review", "approve", operator="rita", answers=named))
        assert message.startswith("field name 'colour") and _code(char) in message
    many = {f"f{i}": "x" * 500 for i in range(60)}
    message = await _refused(handle, StepDecision("review", "approve", operator="rita", answers=many))
    assert message == "at most 50 answers (got 60)"
    message = await _refused(
        handle, StepDecision("review", "approve", operator="rita", answers={**VALID_ANSWERS, "total": "9" * 501})
    )
    assert message.startswith("answers.total: at most 500 characters (got 501)")
    assert await audits(sessions, handle.id) == []  # refused updates leave nothing

    tabbed = {**VALID_ANSWERS, "total": "12480.00\t"}
    await handle.signal(DECISION_SIGNAL, StepDecision("review", "approve", operator="sig", answers=tabbed))
    await handle.signal(DECISION_SIGNAL, StepDecision("review", "approve", operator="sig", answers=many))
    invalid = {**VALID_ANSWERS, "total": "  12,480.00 "}
    await handle.signal(DECISION_SIGNAL, StepDecision("review", "approve", operator="sig", answers=invalid))
    padded = {name: f" {value}  " for name, value in VALID_ANSWERS.items()}
    await handle.signal(DECISION_SIGNAL, StepDecision("review", "approve", operator="sig", answers=padded))
    result = await handle.result()
    assert result.approved is True and result.answers == VALID_ANSWERS

    rows = await audits(sessions, handle.id)
    assert sorted((r.outcome, r.via) for r in rows) == [("accepted", "signal")] + [("rejected", "signal")] * 3
    rejected = {(r.rejection or "").split(":")[0]: r for r in rows if r.outcome == "rejected"}
    assert set(rejected) == {
        "answers.total",
        "at most 50 answers (got 60)",
        "an approval must answer every field of the form",
    }
    assert "U+0009" in (rejected["answers.total"].rejection or "")
    # Malformed answers are not stored; well-formed ones are stored stripped, refused or accepted.
    assert rejected["answers.total"].answers == {} and rejected["at most 50 answers (got 60)"].answers == {}
    assert rejected["an approval must answer every field of the form"].answers == {
        **VALID_ANSWERS,
        "total": "12,480.00",
    }
    assert [r.answers for r in rows if r.outcome == "accepted"] == [VALID_ANSWERS]


async def test_a_form_gate_rejected_with_a_reason_and_a_plain_gate_refusing_answers(
    dev_env: WorkflowEnvironment, task_queue: str, form_worker: Worker, sessions: SessionMaker
) -> None:
    plain = await _start(dev_env, task_queue, FormProbeInput(form=None))
    state = await wait_waiting(plain, "review")
    assert state.form is None
    message = await _refused(plain, StepDecision("review", "approve", operator="rita", answers={"x": "1"}))
    assert "answers apply only to gates with a form" in message
    await plain.execute_update(
        DECIDE_UPDATE, StepDecision("review", "approve", operator="rita"), result_type=DecisionOutcome
    )
    plain_result = await plain.result()
    assert plain_result.approved is True and plain_result.answers == {}
    assert [r.answers for r in await audits(sessions, plain.id)] == [{}]

    form = ReviewForm(fields=[FormField(name="exporter", label="Exporter", value="")])
    handle = await _start(dev_env, task_queue, FormProbeInput(form=form))
    await wait_waiting(handle, "review")
    await handle.execute_update(
        DECIDE_UPDATE,
        StepDecision("review", "reject", operator="rita", reason="wrong document"),
        result_type=DecisionOutcome,
    )
    result = await handle.result()
    assert (result.approved, result.reason, result.answers) == (False, "wrong document", {})


# ----- wait_for, on the time-skipping server --------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.notices: list[AttentionNotice] = []
        self.audits: list[DecisionAudit] = []

    @mock_activity(NOTIFY_ATTENTION)
    async def notify(self, notice: AttentionNotice) -> NoticeSent:
        self.notices.append(notice)
        return NoticeSent(message_id=f"m-{len(self.notices)}", duplicate=False)

    @mock_activity(RECORD_DECISION)
    async def record(self, audit: DecisionAudit) -> None:
        self.audits.append(audit)


async def test_wait_for_reminds_then_escalates_is_not_decidable_and_a_second_round_notifies_afresh(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    task_queue = f"tq-{uuid.uuid4()}"
    policy = AttentionPolicy(
        remind_after_seconds=4 * HOUR,
        escalate_after_seconds=24 * HOUR,
        default_after_seconds=48 * HOUR,
        default_action="reject",  # a default action does not apply to a wait
    )
    request = FormProbeInput(gate=False, rounds=2, attention=policy, audience="reviewers")
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[FormProbeWorkflow],
        activities=[recorder.notify, recorder.record],
    ):
        handle = await _start(time_env, task_queue, request)
        await time_env.sleep(30 * HOUR)
        status = await step_status(handle)
        collect = next(s for s in status.steps if s.name == "collect")
        assert (collect.kind, collect.status, collect.runs) == ("wait", "waiting", 1)
        assert status.waiting == [] and collect.allowed_actions == []
        described = await handle.describe()
        assert described.typed_search_attributes.get(search_attributes.NEEDS_ATTENTION) is not True
        message = await _refused(handle, StepDecision("collect", "approve", operator="rita"))
        assert "not waiting for a decision" in message

        prefix = f"attention:{handle.id}:{handle.first_execution_run_id}:"
        assert [(n.key.removeprefix(prefix), n.audience, n.subject) for n in recorder.notices] == [
            ("collect#1:remind", "reviewers", "Reminder: probe is missing 1 item(s)"),
            ("collect#1:escalate", "operators", "Escalated: probe is missing 1 item(s)"),
        ]
        await time_env.sleep(30 * HOUR)  # past the default: nothing more happens
        assert len(recorder.notices) == 2

        await handle.signal(SUPPLY_SIGNAL)
        await time_env.sleep(5 * HOUR)  # the second round waits: reminded under a fresh key
        status = await step_status(handle)
        collect = next(s for s in status.steps if s.name == "collect")
        assert (collect.status, collect.runs) == ("waiting", 2)
        assert [n.key.removeprefix(prefix) for n in recorder.notices][2:] == ["collect#2:remind"]

        await handle.signal(SUPPLY_SIGNAL)
        result = await handle.result()
        collect = next(s for s in (await step_status(handle)).steps if s.name == "collect")
    assert result.rounds == 2 and result.approved is None
    assert (collect.status, collect.runs) == ("succeeded", 2)
    assert recorder.audits == []


async def test_wait_for_a_condition_already_true_finishes_at_once_without_notices(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[FormProbeWorkflow],
        activities=[recorder.notify, recorder.record],
    ):
        handle = await _start(time_env, task_queue, FormProbeInput(gate=False, rounds=0))
        result = await handle.result()
    assert result.rounds == 0 and recorder.notices == []
