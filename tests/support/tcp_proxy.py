"""A TCP proxy on loopback that can make a server unreachable: refuse new connections, cut open ones.

Fault tests put it between a worker process and Postgres (the worker's database URL names
the proxy's port), so "Postgres is down" can be staged without stopping a server other
things share. While the proxy is cut its listening socket is closed, so a connect attempt
meets ``ECONNREFUSED`` exactly as it would against a stopped server, and every connection
it carried is closed in both directions. Restoring it listens again on the same port.

It runs on threads of its own (one per connection direction), so the test's event loop
being busy never delays the bytes the worker exchanges with Postgres.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from worker.devstack.processes import free_port


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target_host:target_port`` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.accepted = 0
        """Connections accepted over the proxy's life (a reconnecting client raises it)."""

    def start(self) -> TcpProxy:
        """Listen and forward."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    def cut(self) -> None:
        """Refuse new connections and close every open one (both directions)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join(5)
        with self._lock:
            carried, self._open = self._open, set()
        for sock in carried:
            _close(sock)

    def restore(self) -> None:
        """Listen again on the same port."""
        self.start()

    @contextmanager
    def running(self) -> Iterator[TcpProxy]:
        """Started on entry, cut on exit."""
        self.start()
        try:
            yield self
        finally:
            self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by cut()
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end both, as a broken network path would.
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
