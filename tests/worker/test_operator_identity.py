"""Which operator a token belongs to: named operators, the deprecated unnamed list, partners."""

from __future__ import annotations

import json

import pytest

from worker.api.auth import identify
from worker.settings import ApiSettings, hash_token, load_settings


def test_a_named_operator_is_known_by_the_name_its_token_is_configured_under() -> None:
    settings = ApiSettings(
        operators={"ops-anna": hash_token("a"), "ops-ben": hash_token("b")},
        operator_token_hashes=[hash_token("legacy")],
        partner_token_hashes={"acme": hash_token("p")},
    )
    assert [
        (c.role, c.name) if c else None for c in (identify(t, settings) for t in ("a", "b", "legacy", "p", "x"))
    ] == [
        ("operator", "ops-anna"),
        ("operator", "ops-ben"),
        ("operator", f"operator-{hash_token('legacy')[:8]}"),
        ("partner", "acme"),
        None,
    ]


def test_operators_are_read_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWISE_API__OPERATORS", json.dumps({"ops-anna": hash_token("a")}))
    caller = identify("a", load_settings().api)
    assert caller is not None and (caller.role, caller.name) == ("operator", "ops-anna")


@pytest.mark.parametrize("name", ["has space", "", "x" * 65, "new\nline"])
def test_an_operator_name_that_cannot_be_audited_plainly_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="operators"):
        ApiSettings(operators={name: hash_token("a")})
