"""Rendering console pages: templates (autoescaped), security headers, and who is signed in."""

from __future__ import annotations

import datetime
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from worker.api.auth import unnamed_operator
from worker.console.session import Session, Sessions, token_mark
from worker.services.operations import waited
from worker.settings import ApiSettings

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
"""Jinja2 with autoescaping on: every value from a workflow, an error or a user is shown as text."""

SECURITY_HEADERS = {
    # Only this origin's own stylesheet and script; no framing, no inline script.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """The request has no valid session: the handler answers with the sign-in page."""


def sessions_of(request: Request) -> Sessions:
    """The app's session issuer, made on first use from the API settings."""
    if not hasattr(request.app.state, "console_sessions"):
        request.app.state.console_sessions = Sessions(request.app.state.settings.api)
    sessions: Sessions = request.app.state.console_sessions
    return sessions


def operator_digest(settings: ApiSettings, name: str) -> str | None:
    """The stored token digest of the operator called ``name`` now, or None if there is none."""
    if name in settings.operators:
        return settings.operators[name]
    return next((digest for digest in settings.operator_token_hashes if unnamed_operator(digest) == name), None)


def current_session(request: Request) -> Session | None:
    """The signed-in operator's session, or None: a removed operator's, or one signed in with a
    token since rotated, no longer counts."""
    session = sessions_of(request).read(request)
    if session is None:
        return None
    digest = operator_digest(request.app.state.settings.api, session.operator)
    if digest is None or not hmac.compare_digest(session.token_mark, token_mark(digest)):
        return None
    return session


async def signed_in(request: Request) -> Session:
    """The signed-in operator (FastAPI dependency); without one the handler answers with the sign-in page."""
    session = current_session(request)
    if session is None:
        raise SignInRequired
    return session


def page(
    request: Request, template: str, context: dict[str, Any], *, session: Session | None, status: int = 200
) -> HTMLResponse:
    """A rendered page with the console's security headers."""
    settings: ApiSettings = request.app.state.settings.api
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "temporal_ui": settings.temporal_ui_url.rstrip("/"), "now": _now(), **context},
        status_code=status,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    """303 See Other: a POST's answer that the browser follows with a GET."""
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def to_sign_in(request: Request) -> Response:
    """Redirect to the sign-in page, coming back to this page (GETs only) afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    after = quote(target, safe="") if request.method == "GET" else ""
    return redirect(f"/console/login?next={after}" if after else "/console/login")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


TEMPLATES.env.filters["age"] = waited
TEMPLATES.env.filters["urlpart"] = lambda value: quote(str(value), safe="")
