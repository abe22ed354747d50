"""Every pipeline's router, in one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from worker.api import operations, recon

ROUTERS: list[APIRouter] = [operations.router, recon.router]
