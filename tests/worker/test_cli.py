"""The CLI speaks in one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os

import pytest

from tests.support.processes import stepwise


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--no-such-flag"], "No such option: --no-such-flag"),
        (["doctor", "--timeout", "soon"], "Invalid value for '--timeout'"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_non_zero(args: list[str], expected: str) -> None:
    result = stepwise(*args, env=dict(os.environ))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_names_the_variable() -> None:
    result = stepwise("doctor", env={**os.environ, "TEMPORAL_ADDRESS": "nowhere"})
    assert result.returncode == 2
    assert result.stderr.startswith("stepwise: TEMPORAL_ADDRESS:")
    assert result.stderr.count("\n") == 1


def test_an_unreachable_temporal_is_one_line() -> None:
    result = stepwise("doctor", env={**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:9"})
    assert result.returncode == 1
    assert "Temporal at 127.0.0.1:9" in result.stderr
    assert result.stderr.count("\n") == 1


def test_every_command_has_help() -> None:
    for command in ("dev", "worker", "api", "migrate", "doctor"):
        result = stepwise(command, "--help", env=dict(os.environ))
        assert result.returncode == 0, command
        assert "Usage:" in result.stdout
