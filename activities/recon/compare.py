"""Comparing two report CSVs row by row, keyed by the report's key columns.

Both files are read as streams of lines (never whole into memory as text); the
baseline's rows are indexed by key while it streams, then each candidate row is
matched against that index as it streams, and every difference is written to the
diff CSV as it is found. Numbers equal within the tolerance count as equal; anything
else compares as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TextIO

from temporalio.exceptions import ApplicationError

from activities.recon.contracts import REPORT_INVALID

DIFF_HEADER = ["kind", "key", "column", "baseline", "candidate"]
"""Columns of the diff CSV; ``key`` joins the key values with ``|``."""


@dataclass
class Comparison:
    """Counts of one comparison."""

    matched: int = 0
    missing: int = 0
    extra: int = 0
    changed: int = 0
    changed_columns: set[str] = field(default_factory=set)
    changed_keys: list[str] = field(default_factory=list)

    @property
    def different(self) -> bool:
        """True when anything differs."""
        return bool(self.missing or self.extra or self.changed or self.changed_columns)


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def values_equal(baseline: str, candidate: str, tolerance: Decimal) -> bool:
    """Equal as text, or both numbers within ``tolerance`` of each other."""
    if baseline == candidate:
        return True
    left, right = _number(baseline), _number(candidate)
    return left is not None and right is not None and abs(left - right) <= tolerance


def _rows(lines: Iterable[str], report: str, side: str, keys: list[str]) -> tuple[list[str], Iterator[list[str]]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise ApplicationError(f"{report}: the {side} CSV is empty", type=REPORT_INVALID, non_retryable=True)
    missing = [key for key in keys if key not in header]
    if missing:
        raise ApplicationError(
            f"{report}: the {side} CSV has no key column {', '.join(missing)}", type=REPORT_INVALID, non_retryable=True
        )
    return header, reader


def compare_streams(
    report: str,
    keys: list[str],
    baseline_lines: Iterable[str],
    candidate_lines: Iterable[str],
    tolerance: Decimal,
    diff: TextIO,
) -> Comparison:
    """Compare two CSV streams; write every difference to ``diff`` and return the counts."""
    writer = csv.writer(diff, lineterminator="\n")
    writer.writerow(DIFF_HEADER)
    result = Comparison()
    base_header, base_rows = _rows(baseline_lines, report, "baseline", keys)
    cand_header, cand_rows = _rows(candidate_lines, report, "candidate", keys)
    base_keys = [base_header.index(key) for key in keys]
    cand_keys = [cand_header.index(key) for key in keys]
    shared = [column for column in base_header if column in cand_header and column not in keys]
    for column in base_header:
        if column not in cand_header:
            result.changed_columns.add(column)
            writer.writerow(["column-missing", "", column, column, ""])
    for column in cand_header:
        if column not in base_header:
            result.changed_columns.add(column)
            writer.writerow(["column-extra", "", column, "", column])

    index: dict[tuple[str, ...], list[str]] = {}
    for row in base_rows:
        index[tuple(row[i] for i in base_keys)] = row
    base_at = {column: base_header.index(column) for column in shared}
    cand_at = {column: cand_header.index(column) for column in shared}
    for row in cand_rows:
        key = tuple(row[i] for i in cand_keys)
        baseline = index.pop(key, None)
        label = "|".join(key)
        if baseline is None:
            result.extra += 1
            writer.writerow(["extra", label, "", "", ""])
            continue
        differing = [c for c in shared if not values_equal(baseline[base_at[c]], row[cand_at[c]], tolerance)]
        if not differing:
            result.matched += 1
            continue
        result.changed += 1
        result.changed_keys.append(label)
        for column in differing:
            result.changed_columns.add(column)
            writer.writerow(["changed", label, column, baseline[base_at[column]], row[cand_at[column]]])
    for key in index:
        result.missing += 1
        writer.writerow(["missing", "|".join(key), "", "", ""])
    return result
