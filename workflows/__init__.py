"""Deterministic orchestration only: one package per pipeline plus ``common`` (step control).

Modules here never import I/O libraries or settings, even transitively (a test checks it in
a fresh interpreter): a workflow imports its pipeline's contracts (dataclasses, error types
and :class:`~activities.common.contracts.ActivityRef` s) and policies, and shared modules of
``workflows.common``, all through ``workflow.unsafe.imports_passed_through()``.

The sandbox re-imports a workflow's own module for every run, and everything it imports
without passing through is re-imported too: CPU on every run for definitions that never
change. The passed-through modules hold no mutable state and call only ``workflow.*`` APIs,
and the replay tests keep them honest. Dataclasses that handlers receive keep evaluated
annotations (see ``activities.common.contracts``).
"""
