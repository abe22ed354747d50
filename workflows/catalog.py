"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.booking import BookingWorkflow
from workflows.doctor import DoctorWorkflow

WORKFLOWS: list[type] = [BookingWorkflow, DoctorWorkflow]
