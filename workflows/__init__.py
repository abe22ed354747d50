"""Deterministic orchestration only: one module per pipeline plus shared step control.

Modules here never import I/O libraries or settings; activity types and their
dataclasses come in through ``workflow.unsafe.imports_passed_through()``.
"""
