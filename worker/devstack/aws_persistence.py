"""WSGI middleware that keeps the AWS emulator's state across restarts, bounded by compaction.

Every request holds a shared lock; a snapshot (:func:`aws_state.dumps` of every backend)
holds it exclusively, so it sees no request half done. Requests that may write are
served one at a time, so the journal's order is the order moto applied them. A
successful journaled write is appended to the journal, and a request that changed SQS
rewrites SQS's snapshot, before the client gets its answer.

Compaction (every ``compact_every`` journaled writes, after ``compact_after`` seconds
with any, and at close) writes a new snapshot naming the last segment it includes and
opens the next segment; older segments are deleted afterwards, and a start-up skips
any it finds that the snapshot already includes. Start-up time therefore depends on
the state's size and at most one compaction interval of journal, not on uptime.

SQS long polls are answered here by short polls of moto, each one brief, so no lock is
held for seconds and a snapshot never waits for a poll to time out.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.devstack import aws_state
from worker.devstack.aws_requests import classify, journal_environ, long_poll_seconds, short_poll_body

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
log = logging.getLogger("stepwise.aws_emulator")

_SQS_MUTATORS = (
    "create_queue",
    "delete_queue",
    "set_queue_attributes",
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
    "add_permission",
    "remove_permission",
    "tag_queue",
    "untag_queue",
)


class SqsChanges:
    """Knows whether moto's SQS changed since it was last asked; mutes SQS during a replay.

    During a journal replay, SNS and S3 would deliver their messages again; the SQS
    snapshot loaded before the replay already holds them.
    """

    def __init__(self) -> None:
        self.changed = False
        self.muted = False

    def install(self) -> None:
        """Wrap the SQS backend's mutators (once per process)."""
        from moto.sqs.models import SQSBackend

        if getattr(SQSBackend, "stepwise_changes", None) is not None:
            return
        for name in _SQS_MUTATORS:
            setattr(SQSBackend, name, self._tracked(getattr(SQSBackend, name)))
        SQSBackend.receive_message = self._tracked_receive(SQSBackend.receive_message)  # type: ignore[method-assign]
        SQSBackend.stepwise_changes = self  # type: ignore[attr-defined]

    def _tracked(self, mutator: Callable[..., Any]) -> Callable[..., Any]:
        def tracked(backend: Any, *args: Any, **kwargs: Any) -> Any:
            if self.muted:
                return None
            self.changed = True
            return mutator(backend, *args, **kwargs)

        return tracked

    def _tracked_receive(self, receive: Callable[..., Any]) -> Callable[..., Any]:
        def tracked(backend: Any, *args: Any, **kwargs: Any) -> Any:
            before = _message_counts(backend)
            received = receive(backend, *args, **kwargs)
            # A receive changes receipt handles and counts; one past maxReceiveCount moves
            # messages to the dead-letter queue even when it returns none.
            if received or _message_counts(backend) != before:
                self.changed = True
            return received

        return tracked


def _message_counts(backend: Any) -> tuple[int, ...]:
    return tuple(len(queue._messages) for queue in backend.queues.values())


SQS_CHANGES = SqsChanges()


class SharedExclusiveLock:
    """Many holders of the shared side, or one of the exclusive side; a waiting exclusive holder goes first."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._waiting += 1
            self._condition.wait_for(lambda: not self._exclusive and not self._shared)
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


@dataclass
class Response:
    """A WSGI response held until the locks are released."""

    status: str
    headers: list[tuple[str, str]]
    body: list[bytes]

    @property
    def succeeded(self) -> bool:
        return int(self.status.split(" ", 1)[0]) < 400


def call(app: WsgiApp, environ: dict[str, Any], body: bytes) -> Response:
    """Run ``app`` on a request whose body is ``body``; collect the whole answer."""
    environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        started[:] = [status, headers]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body_out = list(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return Response(started[0], list(started[1]), body_out)


class PersistentState:
    """The middleware; :meth:`restore` before serving, :meth:`close` at shutdown."""

    def __init__(
        self, app: WsgiApp, state_dir: Path, *, compact_every: int = 2000, compact_after: float = 30.0
    ) -> None:
        self._app = app
        self.state_dir = state_dir
        self.compact_every = compact_every
        self.compact_after = compact_after
        self._lock = SharedExclusiveLock()
        self._writes = threading.Lock()
        self._sqs_changed = threading.Condition()
        self._closing = threading.Event()
        self._journal: aws_state.Journal | None = None
        self._snapshot_at = time.monotonic()
        SQS_CHANGES.install()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        request = classify(environ, body)
        wait = long_poll_seconds(request, environ, body)
        if wait > 0:
            response = self._long_poll(environ, short_poll_body(environ, body), wait)
        elif request.is_read:
            with self._lock.shared():
                response = call(self._app, environ, body)
        else:
            with self._lock.shared(), self._writes:
                response = self._write(environ, body, journaled=request.is_journaled)
        start_response(response.status, response.headers)
        return response.body

    def _write(self, environ: dict[str, Any], body: bytes, *, journaled: bool) -> Response:
        SQS_CHANGES.changed = False
        response = call(self._app, environ, body)
        if journaled and response.succeeded and self._journal is not None:
            self._journal.append(aws_state.JournalEntry(journal_environ(environ), body))
        if SQS_CHANGES.changed:
            self._save_sqs()
        return response

    def _save_sqs(self) -> None:
        aws_state.write_atomically(self.state_dir / aws_state.SQS_SNAPSHOT, aws_state.dumps(_sqs_backends()))
        SQS_CHANGES.changed = False
        with self._sqs_changed:
            self._sqs_changed.notify_all()

    def _long_poll(self, environ: dict[str, Any], body: bytes, wait: int) -> Response:
        deadline = time.monotonic() + wait
        while True:
            with self._lock.shared(), self._writes:
                SQS_CHANGES.changed = False
                response = call(self._app, environ, body)
                received = SQS_CHANGES.changed
                if received:
                    self._save_sqs()
            remaining = deadline - time.monotonic()
            if received or remaining <= 0 or self._closing.is_set():
                return response
            with self._sqs_changed:
                self._sqs_changed.wait(min(0.2, remaining))

    def restore(self) -> int:
        """Load the snapshot, SQS, and replay the journal after it; return the writes replayed."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        snapshot = aws_state.read_snapshot(self.state_dir)
        last_segment = 0
        if snapshot is not None:
            aws_state.install_backends(snapshot.backends)
            last_segment = snapshot.last_segment
        sqs = aws_state.read_sqs_snapshot(self.state_dir)
        if sqs is not None:
            aws_state.install_backends(sqs)
        numbers = aws_state.segment_numbers(self.state_dir)
        replayed = self._replay([n for n in numbers if n > last_segment])
        self._journal = aws_state.Journal(self.state_dir, max([last_segment, *numbers]) + 1)
        self.compact()  # what was replayed goes into a snapshot: the next start replays nothing twice
        return replayed

    def _replay(self, numbers: list[int]) -> int:
        replayed = 0
        SQS_CHANGES.muted = True
        try:
            for number in numbers:
                for entry in aws_state.read_segment(aws_state.segment_path(self.state_dir, number)):
                    environ = {**entry.environ, "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http"}
                    if not call(self._app, environ, entry.body).succeeded:
                        log.warning(
                            "replayed write failed: %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
                        )
                    replayed += 1
        finally:
            SQS_CHANGES.muted = False
        return replayed

    def compact(self) -> None:
        """Snapshot everything, start a new journal segment, delete the segments included."""
        with self._lock.exclusive():
            journal = self._journal
            assert journal is not None, "restore() opens the journal"
            journal.close()
            # SQS's own snapshot is restored on top of the main one, so it must never be the older
            # of the two: a change that reached SQS without passing its mutators would roll back.
            aws_state.write_atomically(self.state_dir / aws_state.SQS_SNAPSHOT, aws_state.dumps(_sqs_backends()))
            snapshot = aws_state.Snapshot(journal.number, aws_state.backends_in_use())
            aws_state.write_atomically(self.state_dir / aws_state.SNAPSHOT, aws_state.dumps(snapshot))
            self._journal = aws_state.Journal(self.state_dir, journal.number + 1)
            self._snapshot_at = time.monotonic()
        self._delete_segments_through(journal.number)

    def _delete_segments_through(self, last: int) -> None:
        for number in aws_state.segment_numbers(self.state_dir):
            if number <= last:
                aws_state.segment_path(self.state_dir, number).unlink(missing_ok=True)

    def compaction_due(self) -> bool:
        """True when the journal has grown past its bound, in writes or in time."""
        entries = self._journal.entries if self._journal is not None else 0
        overdue = time.monotonic() - self._snapshot_at >= self.compact_after
        return entries >= self.compact_every or (entries > 0 and overdue)

    def run_compactions(self) -> threading.Thread:
        """Compact in the background whenever it is due, until :meth:`close`."""

        def loop() -> None:
            while not self._closing.wait(0.5):
                if self.compaction_due():
                    self.compact()

        thread = threading.Thread(target=loop, name="aws-state-compaction", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop long polls and compactions; write a last snapshot (a clean stop replays nothing)."""
        self._closing.set()
        with self._sqs_changed:
            self._sqs_changed.notify_all()
        if self._journal is not None:
            self.compact()
            self._journal.close()


def _sqs_backends() -> aws_state.Backends:
    return aws_state.backends_in_use(only="sqs")
