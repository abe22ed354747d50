"""The workflow modules' bytecode, held in memory for the sandbox's per-run re-import.

The workflow sandbox re-imports a workflow's module (and its packages) for every workflow
run it starts: that is how runs are kept apart. Each re-import went the whole way through
Python's path finder: a ``stat`` of the package directory and of the source, a read of the
cached bytecode and its unmarshalling — or, where no current bytecode was on disk (an
editable checkout under ``PYTHONDONTWRITEBYTECODE``), a compile of the source. All of it on
the thread that runs every workflow task, for code that cannot have changed since the
worker registered it.

So the worker takes each workflow module's code object once, before it polls, and a finder
at the front of ``sys.meta_path`` hands the sandbox that same code object for every later
import of those modules. The sandbox still executes the module afresh for every run (its
isolation is untouched); it only no longer goes to the disk for it. The code the runs execute
is the code the worker registered, even if the file is edited under a running worker.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from importlib.machinery import ModuleSpec
from types import CodeType, ModuleType


class _HeldCodeLoader(importlib.machinery.SourceFileLoader):
    """A source file's loader that returns code taken before, without touching the file."""

    def __init__(self, fullname: str, path: str, code: CodeType) -> None:
        super().__init__(fullname, path)
        self._code = code

    def get_code(self, fullname: str) -> CodeType:
        return self._code


class HeldWorkflowCode(importlib.abc.MetaPathFinder):
    """Finds the held modules and loads them from their code objects in memory."""

    def __init__(self) -> None:
        self._held: dict[str, _HeldCodeLoader] = {}

    def hold(self, module_name: str) -> None:
        """Hold the code of an imported module and of the packages above it."""
        parts = module_name.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name in self._held:
                continue
            loader = _held_loader(sys.modules[name])
            if loader is not None:
                self._held[name] = loader

    def held(self) -> frozenset[str]:
        """The names of the modules held."""
        return frozenset(self._held)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        loader = self._held.get(fullname)
        if loader is None:
            return None  # any other module: the next finder's
        # A fresh spec per import (the import system marks it while the module initialises,
        # and runs may import at once on several threads); the loader is built once, in hold().
        return importlib.util.spec_from_file_location(fullname, loader.path, loader=loader)


def _held_loader(module: ModuleType) -> _HeldCodeLoader | None:
    """A loader of the module's code as it is now, or None for anything not loaded from source."""
    spec = module.__spec__
    if spec is None or spec.origin is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
        return None
    code = spec.loader.get_code(spec.name)  # read (or compiled) once, here
    return _HeldCodeLoader(spec.name, spec.origin, code) if code is not None else None


HELD_WORKFLOW_CODE = HeldWorkflowCode()
"""The process's one finder; :func:`hold_workflow_modules` puts it on ``sys.meta_path``."""


def hold_workflow_modules(workflows: Iterable[type]) -> None:
    """Hold the code of the modules the workflow classes live in, and serve it from now on."""
    for cls in workflows:
        HELD_WORKFLOW_CODE.hold(cls.__module__)
    if HELD_WORKFLOW_CODE not in sys.meta_path:
        sys.meta_path.insert(0, HELD_WORKFLOW_CODE)
