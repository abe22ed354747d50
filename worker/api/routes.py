"""Every pipeline's router, in one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from worker.api import media

ROUTERS: list[APIRouter] = [
    media.router,
]
