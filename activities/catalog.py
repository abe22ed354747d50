"""The activity factory: every activity instance, built from the clients the worker owns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from temporalio.client import Client

from activities.aws import AwsActivities, AwsClients
from activities.b2b import B2BTransactionActivities
from activities.b2b_batch import B2BBatchActivities
from activities.booking import BookingActivities
from activities.db import SessionMaker
from activities.doctor import DoctorActivities
from activities.media import MediaActivities
from activities.payments import PaymentProvider
from activities.recon import ReconActivities
from activities.recon_providers import LocalPostgresProvider, database_url_of
from activities.recon_ssm import SsmProvider
from activities.resources import Resources
from activities.step_control import StepControlActivities


@dataclass(frozen=True)
class PartnerEndpoints:
    """Base URLs of the partner systems and the key sent to the payment provider."""

    payment_url: str
    enrichment_url: str
    payment_api_key: str = ""


@dataclass(frozen=True)
class ActivityDeps:
    """Everything activities may touch, created once per worker process."""

    aws: AwsClients
    sessions: SessionMaker
    resources: Resources
    client: Client
    http: aiohttp.ClientSession
    """Partner HTTP APIs (payment provider, enrichment)."""
    partners: PartnerEndpoints


def build_activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    """Bound activity methods of every pipeline, ready for ``Worker(activities=...)``."""
    aws = AwsActivities(deps.aws)
    doctor = DoctorActivities(deps.aws, deps.sessions, deps.resources, deps.client)
    payments = PaymentProvider(deps.http, deps.partners.payment_url, deps.partners.payment_api_key)
    booking = BookingActivities(deps.aws, deps.sessions, deps.resources, payments)
    step_control = StepControlActivities(deps.aws, deps.sessions, deps.resources)
    recon = ReconActivities(
        deps.aws,
        deps.sessions,
        deps.resources,
        {
            "local-postgres": LocalPostgresProvider(database_url_of(deps.sessions), deps.aws),
            "aws-ssm": SsmProvider(deps.aws),
        },
    )
    media = MediaActivities(deps.aws, deps.sessions, deps.resources)
    b2b = B2BTransactionActivities(deps.aws, deps.sessions, deps.resources, deps.http, deps.partners.enrichment_url)
    b2b_batch = B2BBatchActivities(deps.aws, deps.sessions, deps.resources, deps.client)
    return [
        booking.reserve_seats,
        booking.release_seats,
        booking.reserve_booking,
        booking.collect_payment,
        booking.refund_payment,
        booking.confirm_booking,
        booking.cancel_booking,
        booking.notify_customer,
        booking.send_to_dead_letter_queue,
        media.copy_media,
        media.start_transcription,
        media.await_transcript,
        media.translate_transcript,
        media.post_process_media,
        media.record_media_failure,
        aws.call_aws,
        doctor.check_postgres,
        doctor.check_s3,
        doctor.check_dynamodb,
        doctor.check_sqs,
        doctor.check_sns,
        doctor.check_temporal_visibility,
        step_control.record_decision,
        step_control.notify,
        recon.plan,
        recon.record_run,
        recon.provision,
        recon.restore,
        recon.run_report,
        recon.teardown,
        recon.compare,
        recon.summarise,
        b2b.format_transaction,
        b2b.enrich_transaction,
        b2b.store_transaction,
        b2b.settle_transaction,
        b2b_batch.register_batch,
        b2b_batch.split_batch,
        b2b_batch.dispatch_chunk,
        b2b_batch.report_batch,
        b2b_batch.fail_batch,
    ]
