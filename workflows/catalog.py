"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.doctor import DoctorWorkflow
from workflows.media import MediaWorkflow

WORKFLOWS: list[type] = [DoctorWorkflow, MediaWorkflow]
