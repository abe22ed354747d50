"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.b2b import B2BTransactionWorkflow
from workflows.b2b_batch import B2BBatchWorkflow
from workflows.doctor import DoctorWorkflow

WORKFLOWS: list[type] = [DoctorWorkflow, B2BBatchWorkflow, B2BTransactionWorkflow]
