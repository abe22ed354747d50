"""Fault injection in front of real activities: same activity names, counted calls, armed failures.

A wrapped activity counts every call by a label derived from its input, and fails
with a non-retryable ``InjectedFault`` while a matching fault is armed, either before
the real activity runs or after it (its side effect happened, its answer was lost).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError


@dataclass
class Fault:
    """Fail calls of ``activity_name`` whose label is ``label`` ("" matches any)."""

    activity_name: str
    label: str = ""
    after: bool = True


class FaultInjector:
    """Wraps activities; ``calls[(name, label)]`` counts real executions attempted."""

    def __init__(self, label_of: Callable[[str, Any], str]) -> None:
        self._label_of = label_of
        self.faults: list[Fault] = []
        self.calls: Counter[tuple[str, str]] = Counter()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        definition = activity._Definition.must_from_callable(fn)
        name = definition.name or ""

        async def wrapper(arg: Any) -> Any:
            label = self._label_of(name, arg)
            self.calls[(name, label)] += 1
            fault = next((f for f in self.faults if f.activity_name == name and f.label in ("", label)), None)
            if fault is not None and not fault.after:
                raise ApplicationError(
                    f"injected fault before {name} {label}", type="InjectedFault", non_retryable=True
                )
            result = await fn(arg)
            if fault is not None:
                raise ApplicationError(f"injected fault after {name} {label}", type="InjectedFault", non_retryable=True)
            return result

        arg_types = definition.arg_types or [Any]
        wrapper.__annotations__ = {"arg": arg_types[0], "return": definition.ret_type or Any}
        wrapper.__name__ = name
        return activity.defn(name=name)(wrapper)

    def clear(self) -> None:
        """Disarm every fault."""
        self.faults.clear()


def fails_until_fixed(state: dict[str, bool], error_type: str, message: str) -> Callable[[Any], Any]:
    """A ``replace`` wrapper: the activity fails non-retryably with ``error_type`` until ``state["fixed"]``.

    An outage an operator waits out (then retries or redrives), registered under the real
    activity's name and types.
    """
    from tests.e2e.test_booking_saga import as_activity_like

    def wrap(real: Any) -> Any:
        async def wrapper(argument: Any) -> Any:
            if not state["fixed"]:
                raise ApplicationError(message, type=error_type, non_retryable=True)
            return await real(argument)

        return as_activity_like(real, wrapper)

    return wrap
