"""Who is signed in to the console: a signed, expiring session cookie with a CSRF token.

Operators sign in with their own API token (``STEPWISE_API__OPERATORS``); the token is
checked once and never stored. The cookie holds the operator's name, a random CSRF token
and the sign-in time, signed with ``STEPWISE_API__SESSION_SECRET`` (itsdangerous), and is
HttpOnly, SameSite=Strict, limited to ``/console`` and — over HTTPS — Secure. It also holds a
fingerprint of the operator's token digest: once the operator's token is rotated in the
settings (or the operator removed), the session no longer counts. Every form
POST must carry the session's CSRF token; a missing or wrong one is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from worker.settings import ApiSettings

COOKIE = "stepwise_console"
COOKIE_PATH = "/console"
NOTICE_CHARACTERS = 300
NOTICE_SECONDS = 600


@dataclass(frozen=True)
class Session:
    """A signed-in operator."""

    operator: str
    csrf: str
    token_mark: str = ""
    """:func:`token_mark` of the token the operator signed in with: a new token ends the session."""


def token_mark(digest: str) -> str:
    """A short fingerprint of a token's stored digest (the cookie never carries the digest itself)."""
    return hashlib.sha256(f"stepwise-console-session:{digest.lower()}".encode()).hexdigest()[:16]


class Sessions:
    """Issues and reads session cookies for one API process."""

    def __init__(self, settings: ApiSettings) -> None:
        secret = settings.session_secret.get_secret_value() or secrets.token_urlsafe(32)
        self._serializer = URLSafeTimedSerializer(secret, salt="stepwise-console")
        self._notices = URLSafeTimedSerializer(secret, salt="stepwise-console-notice")
        self.max_age = settings.session_minutes * 60

    def start(self, response: Response, request: Request, operator: str, digest: str) -> Session:
        """Sign ``operator`` in (with the token whose stored digest is ``digest``): set the cookie on ``response``."""
        session = Session(operator, secrets.token_urlsafe(24), token_mark(digest))
        response.set_cookie(
            COOKIE,
            self._serializer.dumps({"operator": session.operator, "csrf": session.csrf, "mark": session.token_mark}),
            max_age=self.max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return session

    def read(self, request: Request) -> Session | None:
        """The request's session, or None (no cookie, a forged one, or an expired one)."""
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("operator"), str) or not data.get("csrf"):
            return None
        return Session(data["operator"], str(data["csrf"]), str(data.get("mark", "")))

    def sign_notice(self, text: str) -> str:
        """``text`` as a page shows it after a redirect (``?done=``), signed so only the console writes it."""
        return self._notices.dumps(text[:NOTICE_CHARACTERS])

    def read_notice(self, signed: str) -> str:
        """The notice :meth:`sign_notice` wrote in the last ten minutes; "" for anything else.

        Without the signature any link could show its own text as the console's notice
        ("Session expired, sign in at …").
        """
        try:
            text = self._notices.loads(signed, max_age=NOTICE_SECONDS)
        except (SignatureExpired, BadSignature):
            return ""
        return text if isinstance(text, str) else ""

    @staticmethod
    def end(response: Response) -> None:
        """Sign out: drop the cookie."""
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def csrf_ok(session: Session, submitted: str | None) -> bool:
    """The form carried this session's CSRF token (compared in constant time)."""
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")
