"""Constrained strings for every value the API passes to Postgres, S3 or a workflow.

PostgreSQL refuses NUL (0x00) in ``text`` and ``jsonb`` and would answer with an error
the client could only see as a 500; other control characters are never meant in a
name, an id or a URI. Every body field, path parameter and form field that carries text
is one of the types here, so such input is refused at the edge with a 422 naming the
field. Each type also carries its rule as a JSON-schema ``pattern``, so the OpenAPI
document admits exactly what the API accepts.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

LINE_PATTERN = r"^[^\x00-\x1F\x7F]*$"
"""One line of text: no control character at all."""
TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$"
"""Free text: tab, line feed and carriage return allowed, no other control character."""

_LINE_CONTROLS = re.compile(r"[\x00-\x1F\x7F]")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]")


def _refusing(controls: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        found = controls.search(value)
        if found is not None:
            raise ValueError(f"must not contain control character U+{ord(found.group()):04X}")
        return value

    return AfterValidator(check)


Line = Annotated[str, _refusing(_LINE_CONTROLS), Field(json_schema_extra={"pattern": LINE_PATTERN})]
"""A name, an id or a URI: one line without control characters."""
Text = Annotated[str, _refusing(_TEXT_CONTROLS), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
"""A reason or a message: may span lines, no other control characters."""


def refuse_nul_in_json(value: Any) -> Any:
    """Refuse a JSON value holding NUL in any string (jsonb cannot store it)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            raise ValueError("must not contain control character U+0000")
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value
