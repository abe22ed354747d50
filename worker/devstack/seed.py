"""Demo data the dev stack puts in place: flights, the demo media file, and a well-known operator token.

Seeding is idempotent and never overwrites: a restarted dev stack keeps the seats
that bookings have taken.
"""

from __future__ import annotations

from importlib import resources as package_files
from typing import Any

import boto3
import botocore.exceptions

from activities.common.resources import Resources
from worker.devstack.shipment_demo import seed_shipment_demo

DEV_OPERATOR = "dev-operator"
"""The dev stack's operator (``STEPWISE_API__OPERATORS``): decisions from the console and API are audited under it."""
DEV_OPERATOR_TOKEN = "stepwise-dev-operator"
"""Bearer token of the operator role on the embedded stack only."""

DEV_PARTNER_ID = "acme"
"""The demo trading partner of the B2B pipeline."""

DEV_PARTNER_TOKEN = "stepwise-dev-partner-acme"
"""Bearer token of the demo partner on the embedded stack only."""

DEMO_FLIGHTS = {"FL-100": 150, "FL-200": 2}
"""Flight id -> seats left: FL-100 has plenty, FL-200 is nearly full."""


def seed_flights(resources: Resources, flights: dict[str, int], session: boto3.session.Session | None = None) -> None:
    """Create flights that do not exist yet with the given seat capacity."""
    dynamodb: Any = (session or boto3.session.Session()).client("dynamodb")
    for flight_id, seats in flights.items():
        try:
            dynamodb.put_item(
                TableName=resources.flights_table,
                Item={"id": {"S": flight_id}, "seatCapacity": {"N": str(seats)}},
                ConditionExpression="attribute_not_exists(id)",
            )
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


RECON_DEMO_PREFIX = "recon/demo/"
"""Where the reconciliation demo lives in the reports bucket."""
RECON_DEMO_SNAPSHOT = RECON_DEMO_PREFIX + "snapshot/loan-portfolio.sql"
"""The demo loan-portfolio snapshot (plain SQL)."""
RECON_DEMO_PACKS = RECON_DEMO_PREFIX + "report-packs/"
"""The demo report packs: v1, and v2 whose interest_accrual rounds to whole units."""


def seed_recon_demo(resources: Resources, session: boto3.session.Session | None = None) -> int:
    """Upload the reconciliation demo (snapshot + report packs) shipped as package data.

    The objects are the package's files byte for byte, so re-uploading is harmless.
    """
    s3: Any = (session or boto3.session.Session()).client("s3")
    root = package_files.files("worker.devstack").joinpath("data", "recon")
    uploaded = 0
    pending = [(root, RECON_DEMO_PREFIX)]
    while pending:
        folder, prefix = pending.pop()
        for entry in sorted(folder.iterdir(), key=lambda item: item.name):
            if entry.is_dir():
                pending.append((entry, f"{prefix}{entry.name}/"))
            else:
                s3.put_object(Bucket=resources.reports_bucket, Key=prefix + entry.name, Body=entry.read_bytes())
                uploaded += 1
    return uploaded


DEMO_MEDIA_KEY = "demo/realtime-b2b.wav"
"""The demo media in the media bucket: one second of audio whose transcript (spoken in the
dev stack's Transcribe emulation) is the B2B article's paragraph on real-time transactions."""

TRANSCRIPT_SIDECAR_SUFFIX = ".transcript.txt"
"""What the dev stack's Transcribe emulation "hears" in ``<key>`` is the text of ``<key>.transcript.txt``."""


def demo_media_uri(resources: Resources) -> str:
    """``s3://`` URI of the demo media."""
    return f"s3://{resources.media_bucket}/{DEMO_MEDIA_KEY}"


def seed_demo_media(resources: Resources, session: boto3.session.Session | None = None) -> str:
    """Upload the demo media and its transcript sidecar unless they are there; return the media URI."""
    s3: Any = (session or boto3.session.Session()).client("s3")
    data = package_files.files("worker.devstack") / "data"
    name = DEMO_MEDIA_KEY.rsplit("/", 1)[-1]
    uploads = {
        DEMO_MEDIA_KEY: ((data / name).read_bytes(), "audio/wav"),
        DEMO_MEDIA_KEY + TRANSCRIPT_SIDECAR_SUFFIX: (
            (data / (name + TRANSCRIPT_SIDECAR_SUFFIX)).read_bytes(),
            "text/plain; charset=utf-8",
        ),
    }
    for key, (body, content_type) in uploads.items():
        try:
            s3.head_object(Bucket=resources.media_bucket, Key=key)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            s3.put_object(Bucket=resources.media_bucket, Key=key, Body=body, ContentType=content_type)
    return demo_media_uri(resources)


DEMO_TRANSLATION_CUSTOMER = DEV_PARTNER_ID
DEMO_TRANSLATION_PROJECT = "website-launch"
"""The demo translation project: two XLIFF files (en->es in XLIFF 1.2, en->fr in 2.0) and a terminology CSV."""


def seed_demo_translation(resources: Resources, session: boto3.session.Session | None = None) -> list[str]:
    """Drop the demo project under ``translation-inbound/acme/website-launch/`` unless it is there.

    Each new object's S3 event reaches the translation intake, which starts the project; a
    project already dropped is left alone (so a restarted dev stack does not resubmit it).
    """
    s3: Any = (session or boto3.session.Session()).client("s3")
    root = package_files.files("worker.devstack").joinpath("data", "translation-demo")
    prefix = f"translation-inbound/{DEMO_TRANSLATION_CUSTOMER}/{DEMO_TRANSLATION_PROJECT}/"
    uploaded = []
    for name in ("guide.xlf", "ui.xlf", "terminology/glossary.csv"):
        key = prefix + name
        try:
            s3.head_object(Bucket=resources.translation_bucket, Key=key)
            continue
        except botocore.exceptions.ClientError:
            pass
        s3.put_object(Bucket=resources.translation_bucket, Key=key, Body=root.joinpath(name).read_bytes())
        uploaded.append(key)
    return uploaded


def seed_demo_data(resources: Resources, *, translation_project: bool = True, shipment: bool = True) -> None:
    """Everything the README's quick tour uses (the tests leave out the translation project and
    the demo shipment, whose uploads would start them through the intakes)."""
    seed_flights(resources, DEMO_FLIGHTS)
    seed_recon_demo(resources)
    seed_demo_media(resources)
    if translation_project:
        seed_demo_translation(resources)
    if shipment:
        seed_shipment_demo(boto3.session.Session().client("s3"), resources.documents_bucket)
