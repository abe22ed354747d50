"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.doctor import DoctorWorkflow

WORKFLOWS: list[type] = [DoctorWorkflow]
