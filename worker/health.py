"""A minimal HTTP endpoint for /healthz and /readyz, on the worker's health port.

Kept dependency-free (asyncio streams) so it can never take the process's signal
handling away from the worker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from temporalio.client import Client

from activities.common.db import SessionMaker

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]


async def dependency_checks(client: Client, sessions: SessionMaker) -> dict[str, str]:
    """Temporal and Postgres each answer within 3 s: ``ok`` or the error, per dependency."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(client.service_client.check_health(), 3)
        checks["temporal"] = "ok"
    except Exception as error:
        checks["temporal"] = f"{type(error).__name__}: {error}"
    try:
        async with sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), 3)
        checks["postgres"] = "ok"
    except Exception as error:
        checks["postgres"] = f"{type(error).__name__}: {error}"
    return checks


class HealthServer:
    """Serves ``/healthz`` (process up) and ``/readyz`` (every dependency answers)."""

    def __init__(self, host: str, port: int, readiness: ReadinessCheck) -> None:
        self._host = host
        self._port = port
        self._readiness = readiness
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 5)).decode(errors="replace")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
            status, body = await self._route(path)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _route(self, path: str) -> tuple[str, dict[str, object]]:
        if path == "/healthz":
            return "200 OK", {"status": "ok"}
        if path == "/readyz":
            checks = await self._readiness()
            ready = all(value == "ok" for value in checks.values())
            return ("200 OK" if ready else "503 Service Unavailable"), {"ready": ready, "checks": checks}
        return "404 Not Found", {"error": "not found"}
