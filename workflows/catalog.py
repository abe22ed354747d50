"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.doctor import DoctorWorkflow
from workflows.recon import ReconciliationWorkflow, VersionEnvironmentWorkflow
from workflows.recon_campaign import ReconciliationCampaignWorkflow

WORKFLOWS: list[type] = [
    DoctorWorkflow,
    ReconciliationWorkflow,
    VersionEnvironmentWorkflow,
    ReconciliationCampaignWorkflow,
]
