"""Bearer-token authentication with two roles.

Tokens are configured as SHA-256 digests (``STEPWISE_API__OPERATOR_TOKEN_HASHES``,
``STEPWISE_API__PARTNER_TOKEN_HASHES``), so settings never hold a usable secret. An
operator may do everything; a partner may submit work and read only its own records.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.settings import ApiSettings, hash_token

bearer = HTTPBearer(auto_error=False, description="Operator or partner token")


@dataclass(frozen=True)
class Caller:
    """Who is calling: an operator, or a partner with its id."""

    role: str
    partner_id: str | None = None

    @property
    def is_operator(self) -> bool:
        """Operators may read and decide everything."""
        return self.role == "operator"

    def may_access_partner(self, partner_id: str) -> bool:
        """Operators see all partners; a partner sees itself only."""
        return self.is_operator or self.partner_id == partner_id


def identify(token: str, settings: ApiSettings) -> Caller | None:
    """The caller a token belongs to, comparing digests in constant time."""
    digest = hash_token(token)
    for expected in settings.operator_token_hashes:
        if hmac.compare_digest(digest, expected.lower()):
            return Caller("operator")
    for partner_id, expected in settings.partner_token_hashes.items():
        if hmac.compare_digest(digest, expected.lower()):
            return Caller("partner", partner_id)
    return None


async def current_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """Any authenticated caller, or 401."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    caller = identify(credentials.credentials, request.app.state.settings.api)
    if caller is None:
        raise HTTPException(401, "unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
    return caller


async def operator(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """An operator, or 403."""
    if not caller.is_operator:
        raise HTTPException(403, "operator role required")
    return caller


AnyCaller = Annotated[Caller, Depends(current_caller)]
Operator = Annotated[Caller, Depends(operator)]
