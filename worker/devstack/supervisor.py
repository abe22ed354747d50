"""Keeps the dev stack's children running, the way a process supervisor would.

A child that exits is started again after a delay that doubles with each exit in the
recent window (1 s, 2 s, 4 s … at most 30 s); the others keep running. Each exit and
restart is said on the console and written to ``supervisor.log``. A child that keeps
exiting (more than ``max_restarts`` times within ``window`` seconds) is given up on,
and the stack stops with an error naming it: it will not come up by itself.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from worker.devstack.processes import ManagedProcess, StartError


@dataclass
class Child:
    """A supervised process and its restart history."""

    process: ManagedProcess
    exits: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


@dataclass
class Supervisor:
    """The children of one ``stepwise dev``, checked by :meth:`check` from the main thread."""

    log_path: Path
    first_delay: float = 1.0
    max_delay: float = 30.0
    max_restarts: int = 8
    window: float = 120.0
    children: list[Child] = field(default_factory=list)

    def add(self, process: ManagedProcess) -> None:
        """Supervise a started process."""
        self.children.append(Child(process))

    @property
    def processes(self) -> list[ManagedProcess]:
        """The supervised processes, in order of start."""
        return [child.process for child in self.children]

    def check(self, now: float | None = None) -> None:
        """Schedule a restart for each child that exited; start those whose delay is over."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            popen = child.process.process
            if child.restart_at is None and popen is not None and popen.poll() is not None:
                self._schedule(child, popen.returncode, now)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.process.start()
                pid = child.process.process.pid if child.process.process else "?"
                self.say(f"{child.process.name} restarted (pid {pid})")

    def _schedule(self, child: Child, code: int, now: float) -> None:
        while child.exits and now - child.exits[0] > self.window:
            child.exits.popleft()
        child.exits.append(now)
        name = child.process.name
        if len(child.exits) > self.max_restarts:
            message = f"{name} exited (code {code}) {len(child.exits)} times in {self.window:.0f}s; giving up"
            self.say(message)
            raise StartError(f"{message}; see {child.process.log_path}")
        delay = min(self.max_delay, self.first_delay * 2 ** (len(child.exits) - 1))
        child.restart_at = now + delay
        self.say(f"{name} exited (code {code}); restarting in {delay:.0f}s")

    def say(self, message: str) -> None:
        """On the console and in the supervisor's log."""
        print(message, file=sys.stderr, flush=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {message}\n")

    def stop(self) -> None:
        """Stop every child, newest first."""
        for child in reversed(self.children):
            child.restart_at = None
            child.process.stop()
        self.children.clear()
