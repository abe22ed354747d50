"""The streaming comparison: keys, tolerance, and every kind of difference."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError

from activities.recon.compare import Comparison, compare_streams, values_equal


def _compare(baseline: str, candidate: str, tolerance: str = "0.005") -> tuple[Comparison, list[dict[str, str]]]:
    diff = io.StringIO()
    result = compare_streams(
        "r", ["id", "ccy"], io.StringIO(baseline), io.StringIO(candidate), Decimal(tolerance), diff
    )
    return result, list(csv.DictReader(io.StringIO(diff.getvalue())))


def test_numbers_within_the_tolerance_are_equal_and_text_is_exact() -> None:
    assert values_equal("10.00", "10", Decimal("0"))
    assert values_equal("10.004", "10", Decimal("0.005"))
    assert not values_equal("10.01", "10", Decimal("0.005"))
    assert not values_equal("abc", "ABC", Decimal("1"))
    assert not values_equal("NaN", "NaN ", Decimal("1"))


def test_rows_are_matched_by_key_whatever_their_order() -> None:
    baseline = "id,ccy,amount,name\n1,USD,10.00,a\n2,EUR,20.00,b\n3,USD,30.00,c\n"
    candidate = "id,ccy,amount,name\n3,USD,30,c\n1,USD,10.5,a\n4,GBP,1,d\n"
    result, diff = _compare(baseline, candidate)
    assert (result.matched, result.changed, result.missing, result.extra) == (1, 1, 1, 1)
    assert result.changed_columns == {"amount"}
    assert {(row["kind"], row["key"]) for row in diff} == {
        ("changed", "1|USD"),
        ("missing", "2|EUR"),
        ("extra", "4|GBP"),
    }
    changed = next(row for row in diff if row["kind"] == "changed")
    assert (changed["column"], changed["baseline"], changed["candidate"]) == ("amount", "10.00", "10.5")


def test_a_column_present_in_one_version_only_is_a_difference() -> None:
    result, diff = _compare("id,ccy,a\n1,USD,x\n", "id,ccy,a,b\n1,USD,x,y\n")
    assert result.different and result.changed_columns == {"b"}
    assert diff[0]["kind"] == "column-extra"


def test_identical_reports_match() -> None:
    text = "id,ccy,v\n1,USD,1\n2,USD,2\n"
    result, diff = _compare(text, text)
    assert not result.different and result.matched == 2 and diff == []


@pytest.mark.parametrize(("baseline", "message"), [("", "empty"), ("nope,ccy\n1,USD\n", "no key column id")])
def test_unusable_input_is_a_non_retryable_error_naming_the_report(baseline: str, message: str) -> None:
    with pytest.raises(ApplicationError) as error:
        _compare(baseline, "id,ccy\n1,USD\n")
    assert error.value.non_retryable and error.value.type == "ReportInvalid" and message in error.value.message
