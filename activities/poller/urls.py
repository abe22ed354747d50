"""Which URLs the poller may fetch: a partner's registered base URLs, on addresses it may reach.

The poller fetches URLs that come from outside (a job request), so it must not become a way
to make the worker fetch arbitrary addresses (server-side request forgery). Three fences:

1. **Registration.** A job's URL must lie under one of its partner's registered base URLs
   (settings): same scheme, host and port, and a path inside the base's path. No user
   info, no query, no fragment, no ``.``/``..`` segments.
2. **Addresses.** The host's addresses are checked when a job starts and before every
   request: link-local (``169.254.0.0/16`` with the cloud metadata endpoint, ``fe80::/10``),
   multicast, unspecified and reserved addresses are always refused; loopback and private
   networks unless ``allow_private_networks`` (the dev stack's emulator is on loopback). The
   poller's HTTP session resolves names through :class:`GuardedResolver`, which refuses the
   same addresses, so a name that changes its answer between the check and the connection
   (DNS rebinding) is refused too.
3. **No redirects.** Every request is sent with redirects off; a 3xx answer is a refusal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

MAX_URL_LENGTH = 2048


class UrlRefused(ValueError):
    """A URL the poller will not fetch; ``field`` names the request field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PollerAccess:
    """What the poller may fetch (from ``STEPWISE_POLLER__*`` settings)."""

    partners: dict[str, list[str]] = field(default_factory=dict)
    """Partner id -> its registered base URLs (each ending in ``/``)."""
    allow_private_networks: bool = False
    """Also reach loopback and private addresses (a partner on the same network, the dev emulator)."""
    max_page_bytes: int = 5 * 1024 * 1024
    """Largest page (or metadata) body read; a larger one is refused."""
    max_pages: int = 20_000
    """Most pages one job may create."""


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int
    path: str


def _origin(url: str, field_name: str) -> _Origin:
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(field_name, f"longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UrlRefused(field_name, "contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlRefused(field_name, f"not a URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(field_name, "must be an http:// or https:// URL")
    if not parts.hostname:
        raise UrlRefused(field_name, "has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused(field_name, "must not carry user info")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise UrlRefused(field_name, "must not carry a query or a fragment (it is the API's base URL)")
    path = parts.path or "/"
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise UrlRefused(field_name, "must not contain '.' or '..' path segments")
    default_port = 443 if parts.scheme == "https" else 80
    return _Origin(parts.scheme, parts.hostname.lower().rstrip("."), port or default_port, path)


def check_registered(access: PollerAccess, partner: str, url: str) -> None:
    """Raise :class:`UrlRefused` unless ``url`` lies under one of ``partner``'s registered base URLs."""
    bases = access.partners.get(partner)
    if bases is None:
        raise UrlRefused("partner", f"{partner!r} is not a registered partner of the poller")
    wanted = _origin(url, "url")
    if not wanted.path.endswith("/"):
        raise UrlRefused("url", "must be the API's base URL, ending in '/'")
    for base in bases:
        registered = _origin(base, "url")
        if (registered.scheme, registered.host, registered.port) == (
            wanted.scheme,
            wanted.host,
            wanted.port,
        ) and wanted.path.startswith(registered.path):
            return
    raise UrlRefused("url", f"not under a base URL registered for partner {partner!r}")


def refused_address(address: str, *, allow_private_networks: bool) -> str | None:
    """Why the worker must not connect to ``address``, or None if it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return f"{ip} is link-local (the cloud metadata endpoint's range)"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{ip} is not a unicast host address"
    if (ip.is_loopback or ip.is_private) and not allow_private_networks:
        return f"{ip} is a loopback or private address"
    if not ip.is_global and not (ip.is_loopback or ip.is_private):
        return f"{ip} is not a public address"
    return None


async def check_addresses(access: PollerAccess, url: str) -> None:
    """Raise :class:`UrlRefused` if the URL's host resolves to an address the worker must not reach."""
    origin = _origin(url, "url")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise UrlRefused("url", f"host {origin.host!r} does not resolve ({error})") from None
    for info in infos:
        reason = refused_address(str(info[4][0]), allow_private_networks=access.allow_private_networks)
        if reason is not None:
            raise UrlRefused("url", f"host {origin.host!r} resolves to {reason}")


async def check_url(access: PollerAccess, partner: str, url: str) -> None:
    """Both fences that need no request: registration, then the host's addresses."""
    check_registered(access, partner, url)
    await check_addresses(access, url)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing every address :func:`refused_address` refuses."""

    def __init__(self, allow_private_networks: bool) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow_private = allow_private_networks

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for result in found:
            reason = refused_address(result["host"], allow_private_networks=self._allow_private)
            if reason is not None:
                raise OSError(f"refused to connect to {host}: {reason}")
        return found

    async def close(self) -> None:
        await self._inner.close()


def guarded_session(access: PollerAccess, timeout_seconds: float, **options: Any) -> aiohttp.ClientSession:
    """An HTTP session for partner APIs that connects only to allowed addresses (call inside a running loop).

    aiohttp skips the resolver for IP-literal hosts; :func:`check_addresses` covers those
    before each request.
    """
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(access.allow_private_networks), limit=100)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_seconds), **options)
