"""The AWS resources the pipelines use, declared once.

The dev stack applies this declaration to the AWS emulator; for real AWS it is the
reference an infrastructure template is written from. Names carry an optional
per-environment prefix (``STEPWISE_AWS__NAME_PREFIX``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table with a single string partition key."""

    name: str
    partition_key: str


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue, optionally with a dead-letter queue it redrives to."""

    name: str
    dead_letter_queue: str | None = None
    max_receive_count: int = 5


@dataclass(frozen=True)
class Resources:
    """Concrete names of every bucket, table, queue and topic, for one environment."""

    prefix: str = ""
    media_bucket: str = field(init=False)
    processing_bucket: str = field(init=False)
    reports_bucket: str = field(init=False)
    b2b_bucket: str = field(init=False)
    flights_table: str = field(init=False)
    seat_reservations_table: str = field(init=False)
    b2b_transactions_table: str = field(init=False)
    doctor_table: str = field(init=False)
    booking_dlq: str = field(init=False)
    b2b_intake_queue: str = field(init=False)
    b2b_intake_dlq: str = field(init=False)
    b2b_dlq: str = field(init=False)
    media_dlq: str = field(init=False)
    recon_dlq: str = field(init=False)
    poller_bucket: str = field(init=False)
    poller_queue: str = field(init=False)
    poller_dlq: str = field(init=False)
    translation_bucket: str = field(init=False)
    translation_staging_bucket: str = field(init=False)
    translation_intake_queue: str = field(init=False)
    translation_intake_dlq: str = field(init=False)
    translation_notifications_topic: str = field(init=False)
    translation_review_topic: str = field(init=False)
    documents_bucket: str = field(init=False)
    documents_intake_queue: str = field(init=False)
    documents_intake_dlq: str = field(init=False)
    documents_notifications_topic: str = field(init=False)
    documents_review_topic: str = field(init=False)
    booking_notifications_topic: str = field(init=False)
    media_notifications_topic: str = field(init=False)
    operator_attention_topic: str = field(init=False)
    signoff_topic: str = field(init=False)

    def __post_init__(self) -> None:
        names = {
            "media_bucket": "stepwise-media",
            "processing_bucket": "stepwise-processing",
            "reports_bucket": "stepwise-reports",
            "b2b_bucket": "stepwise-b2b",
            "flights_table": "flights",
            "seat_reservations_table": "seat-reservations",
            "b2b_transactions_table": "b2b-transactions",
            "doctor_table": "stepwise-doctor",
            "booking_dlq": "booking-dlq",
            "b2b_intake_queue": "b2b-intake",
            "b2b_intake_dlq": "b2b-intake-dlq",
            "b2b_dlq": "b2b-dlq",
            "media_dlq": "media-dlq",
            "recon_dlq": "recon-dlq",
            "poller_bucket": "stepwise-poller-raw",
            "poller_queue": "poller-payloads",
            "poller_dlq": "poller-payloads-dlq",
            "translation_bucket": "stepwise-translation",
            "translation_staging_bucket": "stepwise-translation-staging",
            "translation_intake_queue": "translation-intake",
            "translation_intake_dlq": "translation-intake-dlq",
            "translation_notifications_topic": "translation-notifications",
            "translation_review_topic": "translation-review",
            "documents_bucket": "stepwise-documents",
            "documents_intake_queue": "documents-intake",
            "documents_intake_dlq": "documents-intake-dlq",
            "documents_notifications_topic": "documents-notifications",
            "documents_review_topic": "documents-review",
            "booking_notifications_topic": "booking-notifications",
            "media_notifications_topic": "media-notifications",
            "operator_attention_topic": "operator-attention",
            "signoff_topic": "recon-signoff",
        }
        for attribute, name in names.items():
            object.__setattr__(self, attribute, self.prefix + name)

    @property
    def buckets(self) -> list[str]:
        """Every S3 bucket."""
        return [
            self.media_bucket,
            self.processing_bucket,
            self.reports_bucket,
            self.b2b_bucket,
            self.poller_bucket,
            self.translation_bucket,
            self.translation_staging_bucket,
            self.documents_bucket,
        ]

    @property
    def tables(self) -> list[TableSpec]:
        """Every DynamoDB table."""
        return [
            TableSpec(self.flights_table, "id"),
            TableSpec(self.seat_reservations_table, "reservationId"),
            TableSpec(self.b2b_transactions_table, "transactionKey"),
            TableSpec(self.doctor_table, "probeId"),
        ]

    @property
    def queues(self) -> list[QueueSpec]:
        """Every SQS queue; dead-letter queues come before the queues that use them."""
        return [
            QueueSpec(self.booking_dlq),
            QueueSpec(self.media_dlq),
            QueueSpec(self.b2b_intake_dlq),
            QueueSpec(self.b2b_intake_queue, dead_letter_queue=self.b2b_intake_dlq),
            QueueSpec(self.b2b_dlq),
            QueueSpec(self.recon_dlq),
            QueueSpec(self.poller_dlq),
            # Three receives: a page that cannot be stored fails fast to the dead-letter queue.
            QueueSpec(self.poller_queue, dead_letter_queue=self.poller_dlq, max_receive_count=3),
            QueueSpec(self.translation_intake_dlq),
            QueueSpec(self.translation_intake_queue, dead_letter_queue=self.translation_intake_dlq),
            QueueSpec(self.documents_intake_dlq),
            QueueSpec(self.documents_intake_queue, dead_letter_queue=self.documents_intake_dlq),
        ]

    @property
    def dead_letter_queues(self) -> list[str]:
        """Every dead-letter queue: the worker exports their depth (``stepwise_dlq_depth``) for the alerts."""
        return [
            self.booking_dlq,
            self.media_dlq,
            self.b2b_intake_dlq,
            self.b2b_dlq,
            self.recon_dlq,
            self.poller_dlq,
            self.translation_intake_dlq,
            self.documents_intake_dlq,
        ]

    @property
    def topics(self) -> list[str]:
        """Every SNS topic."""
        return [
            self.booking_notifications_topic,
            self.media_notifications_topic,
            self.operator_attention_topic,
            self.signoff_topic,
            self.translation_notifications_topic,
            self.translation_review_topic,
            self.documents_notifications_topic,
            self.documents_review_topic,
        ]
