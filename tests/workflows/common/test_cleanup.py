"""Workflow clean-up never runs for a discarded coroutine (workflows.common.cleanup).

A workflow coroutine that Python closes from the garbage collector runs its clean-up on
whatever workflow is current on the collecting thread; an upsert from a parked step's
clean-up once landed in another workflow's first task that way (a nondeterminism error on
replay). ``at_exit`` skips clean-up on ``GeneratorExit`` only, and every workflow module (the
tests' own workflows too: they share a worker with others) is held to the two rules the cleanup
module states.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflows.common.cleanup import at_exit

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / "workflows"


def workflow_modules() -> list[Path]:
    """Every module under workflows/, and every test module that defines a workflow."""
    tests = [path for path in (ROOT / "tests").rglob("*.py") if re.search(r"^@workflow\.defn", path.read_text(), re.M)]
    return sorted(WORKFLOWS.rglob("*.py")) + sorted(tests)


class Suspended:
    """An awaitable that suspends its coroutine once, like a workflow waiting on a future."""

    def __await__(self) -> Iterator[None]:
        yield None


async def guarded(calls: list[str], *, fail: bool = False) -> str:
    async with at_exit(lambda: calls.append("cleanup")):
        await Suspended()
        if fail:
            raise ValueError("the block failed")
        return "done"


def run_to_end(coroutine: object) -> object:
    """Drive a coroutine that only suspends on ``Suspended`` to its end."""
    assert asyncio.iscoroutine(coroutine)
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return stop.value


def test_cleanup_runs_when_the_block_returns() -> None:
    calls: list[str] = []
    assert run_to_end(guarded(calls)) == "done"
    assert calls == ["cleanup"]


def test_cleanup_runs_when_the_block_raises_and_the_error_propagates() -> None:
    calls: list[str] = []
    with pytest.raises(ValueError, match="the block failed"):
        run_to_end(guarded(calls, fail=True))
    assert calls == ["cleanup"]


def test_cleanup_runs_when_the_block_is_cancelled() -> None:
    calls: list[str] = []
    coroutine = guarded(calls)
    coroutine.send(None)
    with pytest.raises(asyncio.CancelledError):
        coroutine.throw(asyncio.CancelledError())
    assert calls == ["cleanup"]


def test_a_closed_coroutine_skips_cleanup_and_closes_cleanly() -> None:
    calls: list[str] = []
    coroutine = guarded(calls)
    coroutine.send(None)
    coroutine.close()  # what the garbage collector does to a suspended, unreferenced coroutine
    assert calls == []
    assert coroutine.cr_frame is None  # closed, not left suspended ("coroutine ignored GeneratorExit")


def test_an_awaitable_cleanup_is_awaited() -> None:
    calls: list[str] = []

    async def settle() -> None:
        await Suspended()
        calls.append("settled")

    async def block() -> None:
        async with at_exit(settle):
            calls.append("body")

    run_to_end(block())
    assert calls == ["body", "settled"]


def test_the_rule_checker_flags_a_call_in_finally_and_an_unguarded_base_exception_handler() -> None:
    """The rule checker itself: it must flag what it is meant to flag."""
    flagged = violations(
        ast.parse(
            "async def f():\n"
            "    try:\n        await g()\n    finally:\n        await h()\n"
            "    try:\n        await g()\n    except BaseException:\n        undo()\n        raise\n"
            "    try:\n        await g()\n    except GeneratorExit:\n        raise\n"
            "    except BaseException:\n        undo()\n        raise\n"
            "    try:\n        await g()\n    finally:\n        done = True\n"
        )
    )
    assert flagged == [5, 9]


def violations(tree: ast.AST) -> list[int]:
    """Lines breaking the cleanup rules: a ``finally`` that calls or awaits anything, or an
    ``except BaseException``/bare ``except`` that does work with no ``except GeneratorExit`` before it."""
    found: list[int] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try | ast.TryStar):
            continue
        for statement in node.finalbody:
            if any(isinstance(inner, ast.Call | ast.Await) for inner in ast.walk(statement)):
                found.append(statement.lineno)
        exits_first = False
        for handler in node.handlers:
            names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
            caught = {name.id for name in names if isinstance(name, ast.Name)}
            if "GeneratorExit" in caught:
                exits_first = True
            does_work = not all(
                isinstance(statement, ast.Raise) and statement.exc is None for statement in handler.body
            )
            if (handler.type is None or "BaseException" in caught) and does_work and not exits_first:
                found.append(handler.body[0].lineno)
    return sorted(found)


@pytest.mark.parametrize("module", workflow_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_workflow_code_keeps_cleanup_off_discarded_coroutines(module: Path) -> None:
    assert violations(ast.parse(module.read_text(), filename=str(module))) == [], module
