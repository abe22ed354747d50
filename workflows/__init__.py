"""Deterministic orchestration only: one module per pipeline plus shared step control.

Modules here never import I/O libraries or settings; activity types and their
dataclasses come in through ``workflow.unsafe.imports_passed_through()``.

The shared, stateless modules (``policies``, ``retry_shapes``, ``saga``, ``step_control``,
``step_records``, ``step_effects``, ``step_decisions``, a pipeline's ``*_contract``) are
imported the same way. The sandbox re-imports a workflow's own module for every run, and
everything it imports without passing through is re-imported too: CPU on every run for
definitions that never change. These modules hold no mutable state and
call only ``workflow.*`` APIs, and the replay tests keep them honest. Dataclasses that
their handlers receive keep evaluated annotations (see ``activities.step_control``).
"""
