"""Bearer-token authentication with two roles, and who may call what.

Tokens are configured as SHA-256 digests, so settings never hold a usable secret:
``STEPWISE_API__OPERATORS`` maps each operator's name to its token's digest (a decision is
audited under that name), ``STEPWISE_API__PARTNER_TOKEN_HASHES`` each partner id to its
token's. The older unnamed ``STEPWISE_API__OPERATOR_TOKEN_HASHES`` list still works; such
a token is named ``operator-<first 8 hex digits of its digest>``.

The console (``worker.console``) signs operators in with the same tokens and keeps a
session cookie; partner tokens cannot sign in there.

============================================  ==========  ==============================  ======
route                                         operator    partner                         none
============================================  ==========  ==============================  ======
``GET /healthz``, ``/readyz``, ``/docs``      yes         yes                             yes
``POST /bookings``, ``POST /media-jobs``      yes         yes, owned by that partner      401
``GET /bookings/{id}``, ``GET /media-jobs/…`` all         its own only (else 404)         401
``POST /bookings/{id}/cancel``                all         its own only (else 404)         401
``/reconciliations…``, ``GET /attention``     yes         403                             401
``POST /workflows/{id}/decisions``            yes         403                             401
``GET /decisions``, ``POST /decisions/bulk``  yes         403                             401
``/dead-letters…``                            yes         403                             401
``/console…`` (session cookie, not bearer)    signed in   cannot sign in                  →login
``/partners/{partner}/…`` (B2B)               all         as itself only (else 403)       401
``POST /jobs`` (API poller)                   yes         for itself only (else 403)      401
``GET /jobs/{id}``                            all         its own only (else 404)         401
``GET /jobs``, ``/poller-schedules…``         yes         403                             401
``POST /translation-projects/{id}/files``     yes         for itself only (else 403)      401
``GET /translation-projects/{id}…``           all         its own only (else 404)         401
``POST /shipments/{id}/documents/{type}``     yes         its own or a new one (else 404) 401
``GET /shipments/{id}``                       all         its own only (else 404)         401
============================================  ==========  ==============================  ======

A partner's booking, media job or poller job is recorded with the partner as its owner (in the
start memo, so it is known before any row exists, and in the row). Another partner's
record answers 404, exactly as a missing one, so ids cannot be probed. A partner's own
ids live in its own namespace (:meth:`Caller.scoped_id`): two partners choosing the same
request id get two bookings, and neither can see or block the other's. Media input is
read only from the S3 locations ``STEPWISE_MEDIA__INPUT_LOCATIONS`` allows that caller.
A translation project (``<customer>-<project>``) belongs to its customer: a partner whose id
is the customer submits files to it and reads it, whoever created it. A shipment belongs to the
partner whose upload created it (a row in ``shipments``); one created by an operator or a plain
S3 drop belongs to no partner.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.settings import ApiSettings, hash_token, namespace_refusal

bearer = HTTPBearer(auto_error=False, description="Operator or partner token")


@dataclass(frozen=True)
class Caller:
    """Who is calling: an operator with its name, or a partner with its id."""

    role: str
    partner_id: str | None = None
    name: str = ""
    """The operator's name (audited with each decision); the partner id for a partner."""

    @property
    def is_operator(self) -> bool:
        """Operators may read and decide everything."""
        return self.role == "operator"

    def may_access_partner(self, partner_id: str) -> bool:
        """Operators see all partners; a partner sees itself only."""
        return self.is_operator or self.partner_id == partner_id

    @property
    def owner(self) -> str | None:
        """The owner recorded on what this caller creates: the partner's id, None for operators."""
        return None if self.is_operator else self.partner_id

    def owns(self, owner: str | None) -> bool:
        """Operators reach every record; a partner only those it created."""
        return self.is_operator or (self.partner_id is not None and owner == self.partner_id)

    def scoped_id(self, chosen: str) -> str:
        """The id of a record the caller names ``chosen``: a partner's ids are prefixed ``<partner>.``.

        Partner ids contain no ``.``, so no partner can choose an id inside another's namespace.
        """
        return chosen if self.is_operator else f"{self.partner_id}.{chosen}"

    def new_id(self, chosen: str, field: str, partners: Collection[str]) -> str:
        """The id of a record the caller creates as ``chosen`` (body field ``field``).

        As :meth:`scoped_id`; an operator's id may not lie in one of ``partners``' namespaces
        (``acme.x``): 422 naming the field (:func:`worker.settings.namespace_refusal`).
        """
        if self.is_operator and (refusal := namespace_refusal(chosen, partners)) is not None:
            raise RequestValidationError([{"loc": ("body", field), "msg": refusal, "type": "value_error"}])
        return self.scoped_id(chosen)


def configured_partners(request: Request) -> Collection[str]:
    """The partners the settings give tokens to: theirs are the namespaces an operator's ids stay out of."""
    partners: Collection[str] = request.app.state.settings.api.partner_token_hashes
    return partners


def identify(token: str, settings: ApiSettings) -> Caller | None:
    """The caller a token belongs to, comparing digests in constant time."""
    digest = hash_token(token)
    found: Caller | None = None
    # Every digest is compared (no early return), so timing does not tell which list matched.
    for name, expected in settings.operators.items():
        if hmac.compare_digest(digest, expected.lower()):
            found = found or Caller("operator", name=name)
    for expected in settings.operator_token_hashes:
        if hmac.compare_digest(digest, expected.lower()):
            found = found or Caller("operator", name=unnamed_operator(expected))
    for partner_id, expected in settings.partner_token_hashes.items():
        if hmac.compare_digest(digest, expected.lower()):
            found = found or Caller("partner", partner_id, name=partner_id)
    return found


def unnamed_operator(digest: str) -> str:
    """The audited name of a token from the deprecated unnamed list."""
    return f"operator-{digest.lower()[:8]}"


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
