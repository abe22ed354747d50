"""The answers to a gate's typed form (:class:`~activities.common.contracts.ReviewForm`): checked per kind.

Pure and stdlib-only: the workflow's decision validator (inside the sandbox), the API and the
console all check answers with these functions, so an operator sees the same refusal everywhere.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping

from activities.common.contracts import FORM_FIELD_KINDS, ReviewForm

MAX_ANSWER = 500
"""The longest answer (characters, after stripping)."""

_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CODE = re.compile(r"\d+(\.\d+)*")


def answer_problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid answer of ``kind``, or None when it is (``value`` as given)."""
    text = value.strip()
    if not text:
        return "an answer is required"
    if len(text) > MAX_ANSWER:
        return f"at most {MAX_ANSWER} characters (got {len(text)})"
    if any(ord(char) < 32 and char not in "\t" for char in text):
        return "no control characters or line breaks"
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
    """One line saying why ``answers`` do not approve ``form``, or None when every field is answered validly."""
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
