"""`stepwise dev` restarts a child that dies, and no child outlives it (SIGTERM at start-up, SIGKILL)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.dev_stack import DevStackProcess, dev_env, ports_in_use
from worker.devstack.processes import port_open

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def wait_ready(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready within {timeout:.0f}s")


def test_a_killed_worker_comes_back_the_rest_untouched_and_nothing_outlives_a_killed_supervisor(
    tmp_path: Path,
) -> None:
    env = dev_env(tmp_path / "state")
    stack = DevStackProcess.start(env, tmp_path / "console.log")
    try:
        stack.wait_until_running()
        before = stack.children()
        before["worker"].send_signal(signal.SIGKILL)

        stack.wait_for_output("worker exited (code -9); restarting in 1s", timeout=30)
        stack.wait_for_output("worker restarted", timeout=30)
        wait_ready(f"http://127.0.0.1:{stack.port('STEPWISE_WORKER__HEALTH_PORT')}/readyz")
        after = stack.children()
        assert after["worker"].pid != before["worker"].pid
        assert {role: p.pid for role, p in after.items() if role != "worker"} == {
            role: p.pid for role, p in before.items() if role != "worker"
        }
        supervisor_log = (tmp_path / "state" / "logs" / "supervisor.log").read_text()
        assert "worker exited (code -9); restarting in 1s" in supervisor_log

        children = list(after.values())
        stack.popen.send_signal(signal.SIGKILL)  # the supervisor alone
        stack.popen.wait(10)
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert alive == []
        assert ports_in_use(stack.ports) == []

        stack = DevStackProcess.start(env, tmp_path / "console.log")  # the next start finds its ports free
        stack.wait_until_running()
    finally:
        stack.stop()
    assert ports_in_use(stack.ports) == []


def test_sigterm_during_start_up_stops_what_was_started(tmp_path: Path) -> None:
    env = dev_env(tmp_path / "state")
    stack = DevStackProcess.start(env, tmp_path / "console.log")
    try:
        deadline = time.monotonic() + 90
        while not port_open(stack.port("STEPWISE_DEV__AWS_PORT")):  # Temporal is up, the rest is starting
            assert time.monotonic() < deadline and stack.popen.poll() is None, stack.output()[-3000:]
            time.sleep(0.1)
        children = psutil.Process(stack.popen.pid).children()
        stack.popen.send_signal(signal.SIGTERM)
        stack.popen.wait(60)
    finally:
        if stack.popen.poll() is None:
            stack.kill_everything()

    assert "Stepwise is running" not in stack.output()
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == []
    assert ports_in_use(stack.ports) == []
