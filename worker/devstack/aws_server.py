"""moto's AWS emulator served with HTTP/1.1 keep-alive, the way AWS endpoints answer.

``moto_server`` runs on Werkzeug's development server, which closes the connection after
every response; every boto3 call would then pay a new TCP connection. waitress serves
the same moto application and keeps connections open.

DynamoDB requests are served one at a time. DynamoDB applies each request atomically;
moto, answering concurrent requests on several threads, does not: two racing
``TransactWriteItems`` can lose a capacity decrement or fail with a 500.

    python -m worker.devstack.aws_server --host 127.0.0.1 --port 5000
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class OneDynamoDbRequestAtATime:
    """WSGI middleware: DynamoDB requests (``X-Amz-Target: DynamoDB_*``) hold one lock."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))  # the whole response inside the lock


def main() -> None:
    parser = argparse.ArgumentParser(description="moto's AWS emulator over keep-alive HTTP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds queue URLs and the like from it

    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app))
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="stepwise-aws-emulator")


if __name__ == "__main__":
    main()
