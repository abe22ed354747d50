"""Every workflow class the worker registers."""

from __future__ import annotations

from workflows.b2b.batch import B2BBatchWorkflow
from workflows.b2b.transaction import B2BTransactionWorkflow
from workflows.booking.workflow import BookingWorkflow
from workflows.doctor.workflow import DoctorWorkflow
from workflows.documents.shipment import ShipmentWorkflow
from workflows.media.workflow import MediaWorkflow
from workflows.poller.job import PollerJobWorkflow
from workflows.poller.retention import PollerRetentionWorkflow
from workflows.poller.slice import PollerSliceWorkflow
from workflows.recon.campaign import ReconciliationCampaignWorkflow
from workflows.recon.reconciliation import ReconciliationWorkflow, VersionEnvironmentWorkflow
from workflows.translation.pair import TranslationPairWorkflow
from workflows.translation.project import TranslationProjectWorkflow

WORKFLOWS: list[type] = [
    B2BBatchWorkflow,
    B2BTransactionWorkflow,
    BookingWorkflow,
    DoctorWorkflow,
    MediaWorkflow,
    ReconciliationWorkflow,
    VersionEnvironmentWorkflow,
    ReconciliationCampaignWorkflow,
    PollerJobWorkflow,
    PollerSliceWorkflow,
    PollerRetentionWorkflow,
    TranslationProjectWorkflow,
    TranslationPairWorkflow,
    ShipmentWorkflow,
]
