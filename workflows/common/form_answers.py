"""The answers to a gate's typed form (:class:`~activities.common.contracts.ReviewForm`): checked per kind.

Pure and stdlib-only: the workflow's decision validator and signal handler (inside the sandbox),
the API, the CLI and the console all check answers with these rules, so an operator sees the same
refusal everywhere. :func:`answers_problem` is the shape every decision's answers must have
(count, lengths, characters), whatever the form; :func:`form_problem` what a form's approval needs.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping

from activities.common.contracts import FORM_FIELD_KINDS, ReviewForm

MAX_ANSWERS = 50
"""The most answers one decision carries."""
MAX_ANSWER_NAME = 64
"""The longest field name an answer is given under (characters)."""
MAX_ANSWER = 500
"""The longest answer (characters, as given: surrounding spaces count)."""

ANSWER_REFUSED = r"\x00-\x1F\x7F-\x9F\u2028\u2029"
"""What no answer and no field name may hold, as the body of a regex character class: C0
controls (tab, line feed and carriage return included), DEL, C1 controls (U+0085 NEL among
them) and the line and paragraph separators U+2028 and U+2029."""
ANSWER_PATTERN = f"^[^{ANSWER_REFUSED}]*$"
"""The same rule as a whole-string pattern, as JSON Schema (ECMA-262) and pydantic read it (in
Python, with ``re.fullmatch``: ``re.search`` lets ``$`` match before a final line feed)."""
REFUSED_CHARACTERS = "no control characters or line breaks (tab, DEL, C1, U+0085, U+2028, U+2029 included)"
"""What a refusal says the rule is."""

_REFUSED = re.compile(f"[{ANSWER_REFUSED}]")

_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CODE = re.compile(r"\d+(\.\d+)*")


def refused_character(text: str) -> str | None:
    """Why ``text`` cannot be an answer or a field name (it holds a refused character), or None."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    return f"{REFUSED_CHARACTERS}; found U+{ord(found.group()):04X}"


def answers_problem(answers: Mapping[str, str]) -> str | None:
    """Why ``answers`` cannot be a decision's answers whatever the form, or None.

    At most :data:`MAX_ANSWERS`; each name 1 to :data:`MAX_ANSWER_NAME` characters, each value
    at most :data:`MAX_ANSWER`, neither holding a character :data:`ANSWER_REFUSED` names.
    """
    if len(answers) > MAX_ANSWERS:
        return f"at most {MAX_ANSWERS} answers (got {len(answers)})"
    for name, value in answers.items():
        shown = repr(name[:MAX_ANSWER_NAME])
        if not name:
            return "an answer's field name must not be empty"
        if len(name) > MAX_ANSWER_NAME:
            return f"a field name has at most {MAX_ANSWER_NAME} characters (got {len(name)}: {shown}...)"
        problem = refused_character(name)
        if problem is not None:
            return f"field name {shown}: {problem}"
        if len(value) > MAX_ANSWER:
            return f"answers.{name}: at most {MAX_ANSWER} characters (got {len(value)})"
        problem = refused_character(value)
        if problem is not None:
            return f"answers.{name}: {problem}"
    return None


def answer_problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid answer of ``kind``, or None when it is (``value`` as given)."""
    if len(value) > MAX_ANSWER:
        return f"at most {MAX_ANSWER} characters (got {len(value)})"
    refused = refused_character(value)
    if refused is not None:
        return refused
    text = value.strip()
    if not text:
        return "an answer is required"
    if kind == "text":
        return None
    if kind == "date":
        if not _DATE.fullmatch(text):
            return f"a date as YYYY-MM-DD (got {text!r})"
        try:
            datetime.date.fromisoformat(text)
        except ValueError:
            return f"not a real date: {text!r}"
        return None
    if kind == "amount":
        if "," in text:
            return f"a plain amount like 12480.00, without thousands separators (got {text!r})"
        if not _AMOUNT.fullmatch(text):
            return f"a non-negative amount with at most two decimals, like 12480.00 (got {text!r})"
        return None
    if kind == "currency":
        if not _CURRENCY.fullmatch(text):
            return f"an ISO 4217 currency code of three capital letters, like USD (got {text!r})"
        return None
    if kind == "codes":
        items = [item.strip() for item in text.split(",")]
        bad = [item for item in items if not _CODE.fullmatch(item)]
        if bad:
            return f"comma-separated codes of digits and dots, like 8471.30, 8473.30 (bad: {', '.join(map(repr, bad))})"
        return None
    return f"unknown field kind {kind!r} (expected one of {', '.join(FORM_FIELD_KINDS)})"


def field_problems(form: ReviewForm, answers: Mapping[str, str]) -> dict[str, str]:
    """Per field name, why its answer does not do (missing, invalid for its kind); unknown names too."""
    problems: dict[str, str] = {}
    known = {field.name for field in form.fields}
    for field in form.fields:
        if field.name not in answers:
            problems[field.name] = "an answer is required"
            continue
        problem = answer_problem(field.kind, answers[field.name])
        if problem is not None:
            problems[field.name] = problem
    for name in answers:
        if name not in known:
            problems[name] = "not a field of this form"
    return problems


def form_problem(form: ReviewForm, answers: Mapping[str, str]) -> str | None:
    """One line saying why ``answers`` do not approve ``form``, or None when every field is answered validly.

    Answers malformed whatever the form (:func:`answers_problem`) are refused for that first.
    """
    malformed = answers_problem(answers)
    if malformed is not None:
        return malformed
    problems = field_problems(form, answers)
    if not problems:
        return None
    known = [field.name for field in form.fields]
    unknown = [name for name in problems if name not in known]
    missing = [name for name, problem in problems.items() if name in known and name not in answers]
    parts: list[str] = []
    if missing:
        parts.append(f"missing answers for {', '.join(missing)}")
    if unknown:
        parts.append(f"unknown fields {', '.join(map(repr, unknown))} (expected {', '.join(known) or 'none'})")
    for name, problem in problems.items():
        if name in known and name in answers:
            parts.append(f"answers.{name}: {problem}")
    return "an approval must answer every field of the form: " + "; ".join(parts)


def normalised(form: ReviewForm, answers: Mapping[str, str]) -> dict[str, str]:
    """The answers stripped, in the form's field order (call after :func:`form_problem` found none)."""
    return {field.name: answers[field.name].strip() for field in form.fields if field.name in answers}


def audited(answers: Mapping[str, str]) -> dict[str, str]:
    """``answers`` as a decision's audit row keeps them: stripped, or none when :func:`answers_problem`
    refuses them (the row's rejection says why; what was refused is not stored)."""
    if answers_problem(answers) is not None:
        return {}
    return {name: value.strip() for name, value in answers.items()}
