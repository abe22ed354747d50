"""Fixtures the throughput benchmarks share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks.support import out_of_process_partners


@pytest.fixture
def separate_processes(aws_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto and the partner emulators as child processes; yields the emulators' base URL."""
    with out_of_process_partners(tmp_path) as (moto_endpoint, emulator_url):
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        yield emulator_url
