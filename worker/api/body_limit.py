"""A cap on the size of request bodies, enforced before any route reads one.

A body declared larger than the cap (``Content-Length``) is refused at once; a body sent
without a length (chunked) is counted as it arrives and refused once it passes the cap.
Either way the answer is 413 with the API's error body, and nothing reached a route. A
route that takes files (a translation project's upload) has a cap of its own, matched by path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from worker.api.errors import ErrorBody

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    """Raised inside the app's receive once a streamed body passes the cap."""


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: Asgi, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        """``per_path`` maps a path pattern (a regular expression matched in full) to its own cap."""
        self._app = app
        self._max = max_bytes
        self._per_path = [(re.compile(pattern), cap) for pattern, cap in (per_path or {}).items()]

    def _cap(self, path: str) -> int:
        return next((cap for pattern, cap in self._per_path if pattern.fullmatch(path)), self._max)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        cap = self._cap(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await self._refuse(send, cap)
            return
        received = 0
        too_large = False
        replaced = False

        async def counted() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    too_large = True
                    raise _BodyTooLarge  # the route never gets the body
            return message

        async def answered(message: Message) -> None:
            # FastAPI turns an error while reading the body into its own 400; past the cap
            # the answer is the 413, whatever the route made of the interruption.
            nonlocal replaced
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start" and not replaced:
                replaced = True
                await self._refuse(send, cap)

        try:
            await self._app(scope, counted, answered)
        except _BodyTooLarge:
            if not replaced:
                await self._refuse(send, cap)

    async def _refuse(self, send: Send, cap: int) -> None:
        body = ErrorBody(detail=f"request body larger than {cap} bytes").model_dump()
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
