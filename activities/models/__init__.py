"""SQLAlchemy models: the single source of Stepwise's schema (Alembic autogenerates from here)."""

from activities.models.b2b import B2BBatch, B2BQuarantine, B2BTransaction
from activities.models.base import Base
from activities.models.booking import Booking, Payment
from activities.models.common import DoctorProbe, NotificationLedger
from activities.models.documents import Shipment, ShipmentDocument, ShipmentField
from activities.models.media import MediaJob, MediaTranslation
from activities.models.poller import PartnerRecord, PollerJob, PollerTask
from activities.models.rate_limit import RateLimitBucket
from activities.models.recon import ReconReportResult, ReconRun
from activities.models.step_control import StepDecisionRecord
from activities.models.translation import TranslationFile, TranslationJobLease, TranslationPair, TranslationProject

__all__ = [
    "B2BBatch",
    "B2BQuarantine",
    "B2BTransaction",
    "Base",
    "Booking",
    "DoctorProbe",
    "MediaJob",
    "MediaTranslation",
    "NotificationLedger",
    "PartnerRecord",
    "Payment",
    "PollerJob",
    "PollerTask",
    "RateLimitBucket",
    "ReconReportResult",
    "ReconRun",
    "Shipment",
    "ShipmentDocument",
    "ShipmentField",
    "StepDecisionRecord",
    "TranslationFile",
    "TranslationJobLease",
    "TranslationPair",
    "TranslationProject",
]
