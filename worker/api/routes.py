"""Every pipeline's router, in one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from worker.api import b2b

ROUTERS: list[APIRouter] = [b2b.router]
