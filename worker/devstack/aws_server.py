"""moto's AWS emulator served with HTTP/1.1 keep-alive, the way AWS endpoints answer.

``moto_server`` runs on Werkzeug's development server, which closes the connection after
every response; every boto3 call would then pay a new TCP connection. waitress serves
the same moto application and keeps connections open.

DynamoDB requests are served one at a time. DynamoDB applies each request atomically;
moto, answering concurrent requests on several threads, does not: two racing
``TransactWriteItems`` can lose a capacity decrement or fail with a 500.

``TransactWriteItems`` rolls back item by item (:func:`roll_back_only_touched_items`):
moto deep-copies every table a transaction touches, so with one seat reservation per
booking each booking took longer than the one before. And the list of moto's services
is read once (:func:`list_services_once`), not from the disk on every request.

With ``--state-dir``, the state survives restarts (:mod:`worker.devstack.aws_persistence`);
without it (the test session, the benchmarks) nothing is written.

    python -m worker.devstack.aws_server --host 127.0.0.1 --port 5000 [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser

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


def roll_back_only_touched_items() -> None:
    """Make moto's ``TransactWriteItems`` snapshot the items it names, not whole tables.

    moto keeps a deep copy of each table a transaction writes to, to put back if any of
    its operations fails: a cost that grows with the table. Instead, the items the
    transaction names are copied before it runs and, if it fails, put back as they were
    (or deleted, if they did not exist). Requires DynamoDB requests to be served one at a
    time (:class:`OneDynamoDbRequestAtATime`), as moto's own rollback does.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class TablesByReference:
        """moto's ``copy`` inside the DynamoDB models module: tables are no longer copied."""

        @staticmethod
        def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "rolls_back_items", False):
        return
    transact_write_items = backend.transact_write_items

    def transact_write_items_with_item_rollback(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = _items_before(self, transact_items)
        written = False
        try:
            transact_write_items(self, transact_items)
            written = True
        finally:
            if not written:  # moto's error (cancelled, invalid) still goes on to the client
                for table, key, item in reversed(before):
                    if item is None:
                        self.delete_item(table, key)
                    else:
                        self.put_item(table, item.to_json()["Attributes"])

    transact_write_items_with_item_rollback.rolls_back_items = True  # type: ignore[attr-defined]
    models.copy = TablesByReference  # type: ignore[assignment,attr-defined]
    backend.transact_write_items = transact_write_items_with_item_rollback  # type: ignore[method-assign]


def _items_before(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], Any]]:
    """(table, key, a copy of the item or None) for each operation of a transaction."""
    from moto.dynamodb.exceptions import MockValidationException

    items = []
    for operation in transact_items:
        if len(operation) != 1:
            continue  # moto rejects the transaction before it writes anything
        kind, details = next(iter(operation.items()))
        table_name = details.get("TableName")
        if table_name not in backend.tables:
            continue
        table = backend.tables[table_name]
        if kind == "Put":
            names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
            key = {name: details.get("Item", {}).get(name) for name in names}
        else:
            key = details.get("Key") or {}
        with contextlib.suppress(MockValidationException, TypeError):  # an invalid key: moto rejects it too
            items.append((table_name, key, copy.deepcopy(backend.get_item(table_name, key))))
    return items


def list_services_once() -> None:
    """moto finds a request's service by listing its own package directory — on every
    request, a ``stat`` per service. The installed services do not change while it runs."""
    from moto import backends

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services


class BodilessRequestParser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser, except that a request without a body needs no ``100 Continue``.

    botocore sends ``Expect: 100-continue`` on every S3 PUT. For one with
    ``Content-Length: 0`` waitress would answer ``100 Continue`` and then wait for a body
    that never comes, so the client timed out: the request is complete as it stands.
    """

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if not self.chunked and self.content_length == 0:
            self.expect_continue = False


class EmulatorChannel(HTTPChannel):  # type: ignore[misc]
    """waitress's channel with :class:`BodilessRequestParser`."""

    parser_class = BodilessRequestParser


def moto_app() -> WsgiApp:
    """moto's application with Stepwise's fixes."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    roll_back_only_touched_items()
    list_services_once()
    return OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app))


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="moto's AWS emulator over keep-alive HTTP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--state-dir", type=Path, help="keep the state here across restarts")
    parser.add_argument("--compact-every", type=int, default=2000, help="journaled writes between snapshots")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds queue URLs and the like from it

    import waitress

    app = moto_app()
    state = None
    if args.state_dir is not None:
        from worker.devstack.aws_persistence import PersistentState

        state = PersistentState(app, args.state_dir, compact_every=args.compact_every)
        started = time.monotonic()
        replayed = state.restore()
        print(f"state restored from {args.state_dir} ({replayed} writes replayed) in {time.monotonic() - started:.2f}s")
        state.run_compactions()
        app = state
    server: Any = waitress.create_server(
        app, host=args.host, port=args.port, threads=args.threads, ident="stepwise-aws-emulator"
    )
    server.channel_class = EmulatorChannel
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        if state is not None:
            state.close()  # a last snapshot: the next start replays nothing
        server.close()


if __name__ == "__main__":
    main()
