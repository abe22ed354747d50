"""Deterministic emulators of the partner systems (EMULATION: development and tests only).

One FastAPI app serves every emulator under its own prefix (``/payments``, the poller's
``/partner-api``, ...), and
fills the gaps of the AWS emulator: Amazon Translate (``/translate``), Amazon Textract's
document analysis (``/textract``) and Amazon Comprehend's entity detection
(``/comprehend``), which moto lacks, and the transcript files moto's Transcribe never
writes (``/transcribe``, in front of moto). The partner emulators and the Translate and
Textract jobs keep their state in memory and, when given a state dir, in a JSON file so a
restarted dev stack remembers what partners already did and can still describe a running
job; the Transcribe gap-filler derives everything from moto's state and Comprehend answers
from the text alone, so they need none.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from worker.devstack.emulators.comprehend import ComprehendEmulator
from worker.devstack.emulators.enrichment import EnrichmentApi
from worker.devstack.emulators.partner_api import PartnerApi
from worker.devstack.emulators.payments import PaymentProvider
from worker.devstack.emulators.textract import TextractEmulator
from worker.devstack.emulators.transcribe import TranscribeGapFiller
from worker.devstack.emulators.translate import TranslateEmulator


def create_emulator_app(state_dir: Path | None = None) -> FastAPI:
    """The app with every emulator mounted."""
    app = FastAPI(title="Stepwise partner emulators (development only)")
    payments = PaymentProvider(state_file=state_dir / "payments.json" if state_dir else None)
    app.include_router(payments.router, prefix="/payments")
    app.state.payments = payments
    translate = TranslateEmulator(state_file=state_dir / "translate.json" if state_dir else None)
    app.include_router(translate.router, prefix="/translate")
    app.state.translate = translate
    textract = TextractEmulator(state_file=state_dir / "textract.json" if state_dir else None)
    app.include_router(textract.router, prefix="/textract")
    app.state.textract = textract
    comprehend = ComprehendEmulator()
    app.include_router(comprehend.router, prefix="/comprehend")
    app.state.comprehend = comprehend
    transcribe = TranscribeGapFiller()
    app.include_router(transcribe.router, prefix="/transcribe")
    app.state.transcribe = transcribe
    enrichment = EnrichmentApi()
    app.include_router(enrichment.router, prefix="/enrichment")
    app.state.enrichment = enrichment
    partner_api = PartnerApi()
    app.include_router(partner_api.router, prefix="/partner-api")
    app.state.partner_api = partner_api
    return app
