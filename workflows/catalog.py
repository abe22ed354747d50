"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.booking import BookingWorkflow
from workflows.doctor import DoctorWorkflow
from workflows.media import MediaWorkflow
from workflows.recon import ReconciliationWorkflow, VersionEnvironmentWorkflow
from workflows.recon_campaign import ReconciliationCampaignWorkflow

WORKFLOWS: list[type] = [
    BookingWorkflow,
    DoctorWorkflow,
    MediaWorkflow,
    ReconciliationWorkflow,
    VersionEnvironmentWorkflow,
    ReconciliationCampaignWorkflow,
]
