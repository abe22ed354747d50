"""The execution page's input: a field whose name says it is a secret is never shown, at any depth."""

from __future__ import annotations

from worker.services.executions import redacted


def test_secrets_are_redacted_however_deep_they_are() -> None:
    start_input = {
        "request_id": "r-1",
        "payment_token": "tok_visa",
        "request": {"partner": "acme", "provider_options": {"API_KEY": "k-1", "region": "eu"}},
        "attempts": [{"password": "hunter2", "n": 1}, "plain"],
        "headers": {"Authorization": "Bearer x", "apiKey": "k-2", "private-key": "pem"},
    }

    assert redacted(start_input) == {
        "request_id": "r-1",
        "payment_token": "<redacted>",
        "request": {"partner": "acme", "provider_options": {"API_KEY": "<redacted>", "region": "eu"}},
        "attempts": [{"password": "<redacted>", "n": 1}, "plain"],
        "headers": {"Authorization": "<redacted>", "apiKey": "<redacted>", "private-key": "<redacted>"},
    }
    assert start_input["payment_token"] == "tok_visa"  # the input itself is left as it was
