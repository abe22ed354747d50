"""Every pipeline's router, in one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from worker.api import bookings, operations, recon

ROUTERS: list[APIRouter] = [
    operations.router,
    bookings.router,
    recon.router,
]
