"""A fault-injecting HTTP proxy in front of the AWS emulator.

Point one service at it with boto3's standard per-service variable
(``AWS_ENDPOINT_URL_DYNAMODB=...``) and it answers the next N requests with a chosen
AWS JSON-protocol error (throttling, access denied...) or a delay, then forwards to the
emulator: real boto3, real botocore parsing, real errors.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from worker.devstack.processes import free_port


@dataclass
class Fault:
    """What to do to the next ``count`` requests."""

    count: int
    status: int = 400
    error_type: str = ""
    delay_seconds: float = 0.0


@dataclass
class AwsFaultProxy:
    """Serve on a free loopback port; ``faults`` are consumed in order."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    requests_seen: int = 0
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AwsFaultProxy:
        """Start serving in a daemon thread."""
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy._next_fault()
                if fault is not None and fault.delay_seconds:
                    time.sleep(fault.delay_seconds)
                if fault is not None and fault.error_type:
                    payload = f'{{"__type":"com.amazonaws#{fault.error_type}","message":"injected {fault.error_type}"}}'
                    self._reply(fault.status, payload.encode(), "application/x-amz-json-1.0")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(proxy.upstream + self.path, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        self._reply(response.status, response.read(), response.headers.get("Content-Type", ""))
                except urllib.error.HTTPError as error:
                    self._reply(error.code, error.read(), error.headers.get("Content-Type", ""))

            def _reply(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _next_fault(self) -> Fault | None:
        self.requests_seen += 1
        while self.faults and self.faults[0].count <= 0:
            self.faults.pop(0)
        if not self.faults:
            return None
        self.faults[0].count -= 1
        return self.faults[0]

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
