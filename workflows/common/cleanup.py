"""Clean-up at the end of a workflow block that never runs for a discarded coroutine.

Python closes a suspended coroutine that nobody will resume by throwing ``GeneratorExit`` into
it, and when the garbage collector does that it does so on whatever thread happens to collect
it. A ``finally`` block of a workflow's coroutine collected that way runs while *another*
workflow's activation is current on that thread, and every workflow call it makes (an activity,
a search-attribute upsert, a condition to wait on, ``workflow.now()``) goes to that other
workflow: its next workflow task then holds a command its own code never issued, a
nondeterminism error in a workflow that did nothing wrong (Temporal's Python SDK documents the
hazard; its eviction closes the tasks it knows of, this guards the rest).

So clean-up in workflow code runs on every way out of a block (a return, an error, a
cancellation, the SDK's own eviction) except that one:

- ``async with at_exit(cleanup):`` instead of ``try: ... finally: await cleanup()``;
- ``except GeneratorExit: raise`` ahead of any ``except BaseException:`` that does work.

``tests/workflows/common/test_cleanup.py`` holds every workflow module to both rules.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import TracebackType


class at_exit:
    """``async with at_exit(cleanup):`` calls ``cleanup()`` (awaiting what it returns) when the
    block ends, however it ends, unless its coroutine is being closed (``GeneratorExit``).

    The block's exception, if any, propagates; an exception from ``cleanup`` replaces it, as
    one raised in a ``finally`` would.
    """

    def __init__(self, cleanup: Callable[[], object]) -> None:
        self._cleanup = cleanup

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and issubclass(exc_type, GeneratorExit):
            return  # a discarded coroutine: whatever workflow is current here is not ours
        result = self._cleanup()
        if inspect.isawaitable(result):
            await result
