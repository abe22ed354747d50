"""Bytecode for the workflow modules, written before the worker starts.

The workflow sandbox re-imports a workflow's module for every workflow run it starts:
that is how runs are kept apart. Python loads the module from its cached bytecode when
there is a current one; when there is not, it compiles the source — and with
``PYTHONDONTWRITEBYTECODE`` set (as in many shells and CI machines) it never writes the
result, so every run compiled the module again: milliseconds of CPU per workflow, on the
thread that runs every workflow task. The image is unaffected (pip compiles the installed
packages at build time); an editable checkout is what this is for.
"""

from __future__ import annotations

import compileall
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def compile_workflow_modules(workflows: Iterable[type]) -> None:
    """Write current bytecode for the packages the workflow classes live in.

    Modules whose bytecode is current are skipped; a package directory that cannot be
    written (a read-only install) is left as it is.
    """
    directories = {Path(str(sys.modules[cls.__module__].__file__)).parent for cls in workflows}
    for directory in sorted(directories):
        if not compileall.compile_dir(directory, maxlevels=0, quiet=2):
            log.warning("could not write bytecode for %s; workflow runs will compile it each time", directory)
