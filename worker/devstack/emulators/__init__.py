"""Deterministic emulators of the partner systems (EMULATION: development and tests only).

One FastAPI app serves every emulator under its own prefix (``/payments``, ...);
each keeps its state in memory and, when given a state dir, in a JSON file so a
restarted dev stack remembers what partners already did.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from worker.devstack.emulators.enrichment import EnrichmentApi
from worker.devstack.emulators.payments import PaymentProvider


def create_emulator_app(state_dir: Path | None = None) -> FastAPI:
    """The app with every emulator mounted."""
    app = FastAPI(title="Stepwise partner emulators (development only)")
    payments = PaymentProvider(state_file=state_dir / "payments.json" if state_dir else None)
    app.include_router(payments.router, prefix="/payments")
    app.state.payments = payments
    enrichment = EnrichmentApi()
    app.include_router(enrichment.router, prefix="/enrichment")
    app.state.enrichment = enrichment
    return app
