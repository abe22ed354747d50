"""`--wait` for every start command: show the current step while the case runs, and stop at a park.

On a terminal the current step is rewritten in place on stderr; otherwise a plain line is
printed each time it changes (logs stay readable). When a step parks for an operator the
follower stops waiting, prints the step, its error and the `stepwise decide` command, and
the command exits with :data:`EXIT_PARKED` instead of blocking silently.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO

from temporalio.client import Client, WorkflowExecutionStatus

from activities.common.contracts import STEPS_QUERY, StepControlStatus

EXIT_PARKED = 5
"""`--wait`: a step waits for an operator; what waits and how to decide are printed."""

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Parked:
    """A step waiting for an operator."""

    workflow_id: str
    step: str
    error_type: str
    error: str
    actions: tuple[str, ...]

    @property
    def command(self) -> str:
        """The command that decides it."""
        return f"stepwise decide {self.workflow_id} {self.step} {'|'.join(self.actions)} --operator NAME --reason TEXT"

    def report(self, out: TextIO) -> None:
        """Tell the operator what waits and how to decide (two lines)."""
        error = f": {self.error_type}: {self.error}" if self.error_type else ""
        out.write(f"step {self.step} is waiting for an operator{error}\n")
        out.write(f"decide with: {self.command}\n")
        out.flush()


async def follow(client: Client, workflow_id: str, *, out: TextIO | None = None) -> Parked | None:
    """Wait until the execution closes (None) or one of its steps parks (that step)."""
    out = out or sys.stderr
    live = out.isatty()
    shown = ""
    handle = client.get_workflow_handle(workflow_id)
    try:
        while True:
            description = await handle.describe()
            if description.status != WorkflowExecutionStatus.RUNNING:
                return None
            status = await _steps(client, workflow_id)
            if status is not None:
                parked = _parked(workflow_id, status)
                if parked is not None:
                    return parked
                line = _progress(status)
                if line and line != shown:
                    out.write(f"\r\x1b[K{workflow_id}: {line}" if live else f"{workflow_id}: {line}\n")
                    out.flush()
                    shown = line
            await asyncio.sleep(POLL_SECONDS)
    finally:
        if live and shown:
            out.write("\n")
            out.flush()


async def parked_step(client: Client, workflow_id: str) -> Parked | None:
    """The step of ``workflow_id`` waiting for an operator now, if any (None if it cannot be asked)."""
    status = await _steps(client, workflow_id)
    return None if status is None else _parked(workflow_id, status)


async def running_steps(client: Client, workflow_id: str) -> list[str]:
    """The steps of ``workflow_id`` running now ([] if it cannot be asked)."""
    status = await _steps(client, workflow_id)
    return [] if status is None else [s.name for s in status.steps if s.status == "running"]


async def _steps(client: Client, workflow_id: str) -> StepControlStatus | None:
    try:
        status: StepControlStatus = await asyncio.wait_for(
            client.get_workflow_handle(workflow_id).query(STEPS_QUERY, result_type=StepControlStatus), 3
        )
    except Exception:  # no worker answered yet (or the case is closing): try again at the next poll
        return None
    return status


def _parked(workflow_id: str, status: StepControlStatus) -> Parked | None:
    states = {state.name: state for state in status.steps}
    for name in status.waiting:
        state = states.get(name)
        if state is not None and state.kind != "gate":
            return Parked(workflow_id, name, state.last_error_type, state.last_error, tuple(state.allowed_actions))
    return None


def _progress(status: StepControlStatus) -> str:
    running = [s.name for s in status.steps if s.status == "running"]
    if running:
        return f"running {', '.join(running[-3:])}"
    waiting = [s.name for s in status.steps if s.status == "waiting"]
    if waiting:
        return f"waiting at {', '.join(waiting)}"
    done = [s.name for s in status.steps if s.status in ("succeeded", "skipped")]
    return f"done {done[-1]}" if done else ""
