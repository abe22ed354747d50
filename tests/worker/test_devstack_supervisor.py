"""The supervisor restarts an exiting child with doubling delays and gives up on one that keeps exiting."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from worker.devstack.processes import ManagedProcess, StartError
from worker.devstack.supervisor import Supervisor


def exit_and_restart(supervisor: Supervisor, child: ManagedProcess, now: float) -> float:
    """Let the child exit, have its restart scheduled and carried out; the time after it."""
    assert child.process is not None
    child.process.wait(30)
    supervisor.check(now)
    restart_at = supervisor.children[0].restart_at
    assert restart_at is not None
    supervisor.check(restart_at)
    return restart_at


def test_a_child_that_keeps_exiting_is_restarted_later_each_time_then_given_up(tmp_path: Path) -> None:
    log = tmp_path / "supervisor.log"
    supervisor = Supervisor(log, first_delay=1, max_delay=4, max_restarts=4, window=100)
    crasher = ManagedProcess("crasher", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "crasher.log")
    supervisor.add(crasher.start())
    now = 0.0
    for _ in range(4):
        now = exit_and_restart(supervisor, crasher, now)
    with pytest.raises(StartError, match="crasher exited"):
        exit_and_restart(supervisor, crasher, now)
    supervisor.stop()

    lines = [re.sub(r"pid \d+", "pid N", line.split(" ", 1)[1]) for line in log.read_text().splitlines()]
    assert lines == [
        "crasher exited (code 3); restarting in 1s",
        "crasher restarted (pid N)",
        "crasher exited (code 3); restarting in 2s",
        "crasher restarted (pid N)",
        "crasher exited (code 3); restarting in 4s",
        "crasher restarted (pid N)",
        "crasher exited (code 3); restarting in 4s",
        "crasher restarted (pid N)",
        "crasher exited (code 3) 5 times in 100s; giving up",
    ]


def test_a_child_that_stays_up_is_left_alone(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "supervisor.log")
    sleeper = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "s.log")
    supervisor.add(sleeper.start())
    try:
        supervisor.check()
        assert sleeper.process is not None and sleeper.process.poll() is None
        assert not (tmp_path / "supervisor.log").exists()
    finally:
        supervisor.stop()
    assert sleeper.process.poll() is not None
