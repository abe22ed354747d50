"""Every pipeline's router, in one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from worker.api import b2b, booking, documents, media, operations, poller, recon, translation

ROUTERS: list[APIRouter] = [
    operations.router,
    booking.router,
    media.router,
    recon.router,
    b2b.router,
    poller.router,
    translation.router,
    documents.router,
]
