"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.b2b import B2BTransactionWorkflow
from workflows.b2b_batch import B2BBatchWorkflow
from workflows.booking import BookingWorkflow
from workflows.doctor import DoctorWorkflow
from workflows.media import MediaWorkflow
from workflows.recon import ReconciliationWorkflow, VersionEnvironmentWorkflow
from workflows.recon_campaign import ReconciliationCampaignWorkflow

WORKFLOWS: list[type] = [
    B2BBatchWorkflow,
    B2BTransactionWorkflow,
    BookingWorkflow,
    DoctorWorkflow,
    MediaWorkflow,
    ReconciliationWorkflow,
    VersionEnvironmentWorkflow,
    ReconciliationCampaignWorkflow,
]
