"""Settings: defaults that run the embedded stack, and one clear line for every wrong value."""

from __future__ import annotations

import os

import pytest

from tests.support.processes import stepwise
from worker.settings import SettingsError, hash_token, load_settings, normalise_database_url


def test_defaults_point_at_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    settings = load_settings()
    assert settings.temporal.address == "127.0.0.1:7233"
    assert settings.worker.task_queue == "stepwise"


def test_nested_groups_read_their_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWISE_WORKER__TASK_QUEUE", "bookings-eu")
    monkeypatch.setenv("STEPWISE_API__PARTNER_TOKEN_HASHES", '{"acme": "abc"}')
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "prod")
    settings = load_settings()
    assert settings.worker.task_queue == "bookings-eu"
    assert settings.api.partner_token_hashes == {"acme": "abc"}
    assert settings.temporal.namespace == "prod"


def test_a_malformed_number_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWISE_WORKER__METRICS_PORT", "ninety")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("STEPWISE_WORKER__METRICS_PORT:")
    assert "\n" not in message


def test_a_malformed_temporal_address_names_temporals_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "no-port-here")
    with pytest.raises(SettingsError, match=r"^TEMPORAL_ADDRESS:"):
        load_settings()


def test_an_out_of_range_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWISE_WORKER__GRACEFUL_SHUTDOWN_SECONDS", "-1")
    with pytest.raises(SettingsError, match=r"^STEPWISE_WORKER__GRACEFUL_SHUTDOWN_SECONDS:"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STEPWISE_POLLER__PARTNERS", "garbage"),
        ("STEPWISE_API__OPERATORS", "[1"),
        ("STEPWISE_MEDIA__INPUT_LOCATIONS", "{"),
        ("STEPWISE_API", "{x"),  # a whole group as JSON
    ],
)
def test_a_setting_that_is_not_json_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # A plain string setting of the same group, itself not JSON, is not the one blamed.
    monkeypatch.setenv("STEPWISE_API__PUBLIC_URL", "http://stepwise.example/")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}: not valid JSON (")
    assert "\n" not in message


def test_the_cli_says_which_setting_is_not_json_in_one_line() -> None:
    env = {**os.environ, "STEPWISE_POLLER__PARTNERS": "garbage"}
    result = stepwise("poller", "status", "x", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "stepwise: STEPWISE_POLLER__PARTNERS: not valid JSON (Expecting value: line 1 column 1 (char 0))\n"
    )


def test_database_url_is_a_secret_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWISE_DATABASE_URL", "postgresql://u:hunter2@db/stepwise")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert settings.require_database_url() == "postgresql+asyncpg://u:hunter2@db/stepwise"


def test_a_non_postgres_database_url_is_rejected_by_name() -> None:
    with pytest.raises(SettingsError, match=r"^STEPWISE_DATABASE_URL:"):
        normalise_database_url("mysql://db/stepwise")


def test_tokens_are_stored_as_digests() -> None:
    assert hash_token("secret") == "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STEPWISE_DOCUMENTS__REVIEW_REMIND_HOURS", "inf"),
        ("STEPWISE_DOCUMENTS__MISSING_ESCALATE_HOURS", "nan"),
        ("STEPWISE_TRANSLATION__REVIEW_ESCALATE_HOURS", "1e9"),
    ],
)
def test_a_reminder_or_escalation_no_timer_can_wait_for_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # Each becomes a workflow timer: infinity or a billion hours would fail the workflow's tasks.
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=rf"^{variable}:"):
        load_settings()
