"""The demo shipment ``SHP-DEMO-1``: an invoice and a customs authorisation form as real PDFs
(dev-stack demo data for the shipment documents pipeline, DESIGN §5.7).

The PDFs are drawn with fpdf2, one text line per cell, so the dev stack's Textract emulator
(:mod:`worker.devstack.emulators.textract`, which fills moto's gap: moto has no Textract) reads
them back with pypdf: "Label: value" lines become its FORMS key-value pairs, and the Comprehend
emulator finds the companies and addresses. The bytes are deterministic (fixed creation date,
no random ids), so the same PDF always has the same S3 ETag and re-seeding changes nothing.

What the demo shows: every field is read with a confidence of at least 0.95 except the billing
company, "Northwind Traders" under BILL TO without a legal suffix, which the Comprehend emulator
scores 0.941: the shipment asks a reviewer about exactly that field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF

DEMO_SHIPMENT = "SHP-DEMO-1"
"""The demo shipment's id."""
DEMO_CREATED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
"""The PDFs' creation date (fixed, so the bytes and the ETag never change)."""

INVOICE_LINES: tuple[str, ...] = (
    "# INVOICE",
    "Invoice No: INV-2026-0147",
    "Invoice Date: 2026-11-28",
    "",
    "## BILL TO",
    "Northwind Traders",
    "12 Harbour Road, 3011 AB Rotterdam, Netherlands",
    "",
    "## SHIP TO",
    "Contoso Logistics Ltd",
    "400 Pier Avenue, Seattle, WA 98101, United States",
    "",
    "## ITEMS",
    "40 x Notebook computers (HS 8471.30) at 280.00 = 11,200.00",
    "80 x Docking stations (HS 8473.30) at 16.00 = 1,280.00",
    "",
    "Total: 12,480.00",
    "Currency: USD",
)
"""The invoice, one line per entry: ``# `` a title, ``## `` a heading, ``""`` a gap."""

CUSTOMS_LINES: tuple[str, ...] = (
    "# CUSTOMS AUTHORISATION",
    "Authorisation No: CA-77812",
    "Shipment Ref: SHP-DEMO-1",
    "",
    "Exporter: Northwind Traders Ltd",
    "Declared Value: 12,480.00",
    "Currency: USD",
    "HS Codes: 8471.30, 8473.30",
    "Country of Origin: Netherlands",
)
"""The customs authorisation form, in the same notation."""


def render_pdf(lines: Sequence[str], title: str = "") -> bytes:
    """A one-page A4 PDF with ``lines`` (``# `` title, ``## `` heading, ``""`` a gap); deterministic."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(DEMO_CREATED)
    pdf.set_title(title)
    pdf.set_author("Stepwise demo data")
    pdf.set_producer("Stepwise dev stack")
    pdf.set_creator("worker.devstack.shipment_demo")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    for line in lines:
        if not line:
            pdf.ln(4)
        elif line.startswith("# "):
            pdf.set_font("Helvetica", "B", 18)
            pdf.cell(0, 12, line[2:], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif line.startswith("## "):
            pdf.set_font("Helvetica", "B", 11)
            pdf.cell(0, 7, line[3:], new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("Helvetica", "", 11)
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def invoice_pdf() -> bytes:
    """The demo invoice ``INV-2026-0147`` (deterministic bytes)."""
    return render_pdf(INVOICE_LINES, title="Invoice INV-2026-0147")


def customs_pdf() -> bytes:
    """The demo customs authorisation ``CA-77812`` (deterministic bytes)."""
    return render_pdf(CUSTOMS_LINES, title="Customs authorisation CA-77812")


def demo_documents() -> dict[str, bytes]:
    """The demo shipment's documents by type: ``{"invoice": ..., "customs": ...}``."""
    return {"invoice": invoice_pdf(), "customs": customs_pdf()}


def demo_key(doc_type: str, shipment_id: str = DEMO_SHIPMENT) -> str:
    """Where the demo document of ``doc_type`` is dropped (``documents-inbound/<shipment>/<type>.pdf``)."""
    return f"documents-inbound/{shipment_id}/{doc_type}.pdf"


def seed_shipment_demo(s3: Any, bucket: str, shipment_id: str = DEMO_SHIPMENT) -> list[str]:
    """Upload the demo documents to ``documents-inbound/<shipment>/`` in ``bucket``; the keys written.

    A document already there with the same bytes (same ETag) is not uploaded again, so
    re-seeding does not make S3 announce an arrival the shipment has already seen.
    """
    written: list[str] = []
    for doc_type, body in demo_documents().items():
        key = demo_key(doc_type, shipment_id)
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        try:
            existing = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        except s3.exceptions.ClientError:
            existing = None
        if existing == etag:
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/pdf")
        written.append(key)
    return written
