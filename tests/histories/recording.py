"""What the history recorders share: run the named scenarios (every one when none is named) on a
time-skipping server of their own and write each history next to this file."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import NoReturn

from temporalio.testing import WorkflowEnvironment

from tests.support.temporal_server import start_time_skipping

HERE = Path(__file__).parent

Scenario = Callable[[WorkflowEnvironment], Awaitable[str]]
"""Runs one scenario on the server and returns its history as JSON."""


async def record(scenarios: Mapping[str, Scenario], names: list[str]) -> None:
    """Record ``names`` (every scenario when empty) into ``<name>.json``."""
    unknown = set(names) - set(scenarios)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; known: {sorted(scenarios)}")
    env = await start_time_skipping()
    try:
        for name, scenario in scenarios.items():
            if names and name not in names:
                continue
            (HERE / f"{name}.json").write_text(await scenario(env))
            print(f"wrote {name}.json")
    finally:
        await env.shutdown()


def main(scenarios: Mapping[str, Scenario]) -> NoReturn:
    """Record the scenarios named on the command line, then leave."""
    asyncio.run(record(scenarios, sys.argv[1:]))
    # Leave without interpreter finalisation (the SDK's native threads may still be running).
    sys.stdout.flush()
    os._exit(0)
