"""The AWS emulator's state on disk: snapshots of moto's backends and a journal of writes.

moto keeps everything in memory. To survive a restart — clean or SIGKILL — the
emulator keeps three kinds of file in its state directory:

* ``snapshot.pickle``: every backend in use, pickled, with the number of the last journal
  segment it includes. Written to a temporary file and renamed, so it is whole or absent.
* ``journal-<n>.jsonl``: the successful mutating requests since that snapshot, one JSON
  line each, appended and flushed before the response leaves (the OS keeps what a killed
  process wrote). Segments numbered at or below the snapshot's are already in it.
* ``sqs.pickle``: SQS, rewritten whenever a request changed it. Queues cannot be rebuilt
  by replaying requests (receipt handles, visibility and receive counts depend on time
  and chance), so they are restored from this file, after the journal replay.

Locks, conditions and S3's spooled temporary files cannot be pickled: the pickler turns
them into fresh locks and bytes (:class:`BackendPickler`).
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import pickle
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
SNAPSHOT = "snapshot.pickle"
SQS_SNAPSHOT = "sqs.pickle"
SEGMENT_GLOB = "journal-*.jsonl"

# (module, attribute) of a BackendDict -> {account: {region: backend}}
Backends = dict[tuple[str, str], dict[str, dict[str, Any]]]


def _spooled_file(data: bytes) -> tempfile.SpooledTemporaryFile[bytes]:
    # Not a context manager: the file is the restored S3 object's value and lives as long as it.
    spooled: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile()  # noqa: SIM115
    spooled.write(data)
    spooled.seek(0)
    return spooled


def _spooled_bytes(spooled: tempfile.SpooledTemporaryFile[bytes]) -> bytes:
    position = spooled.tell()
    spooled.seek(0)
    data = spooled.read()
    spooled.seek(position)
    return data


class BackendPickler(pickle.Pickler):
    """A pickler for moto's models: locks become fresh locks, spooled files their bytes."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES[0]):
            return threading.Lock, ()
        if isinstance(obj, _LOCK_TYPES[1]):
            return threading.RLock, ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, tempfile.SpooledTemporaryFile):
            return _spooled_file, (_spooled_bytes(obj),)
        return NotImplemented


def dumps(value: Any) -> bytes:
    """Pickle ``value`` with :class:`BackendPickler`."""
    buffer = io.BytesIO()
    BackendPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it: readers see old or new, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def backends_in_use(only: str | None = None) -> Backends:
    """Every moto BackendDict holding data (or only the one whose service is ``only``)."""
    from moto.core.base_backend import BackendDict

    found: Backends = {}
    for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
        if only is not None and backend_dict.service_name != only:
            continue
        module = backend_dict.backend.__module__
        attribute = _attribute_of(module, backend_dict)
        found[(module, attribute)] = {account: dict(by_region) for account, by_region in backend_dict.items()}
    return found


def _attribute_of(module_name: str, backend_dict: Any) -> str:
    module = importlib.import_module(module_name)
    for name, value in vars(module).items():
        if value is backend_dict:
            return name
    raise LookupError(f"no module attribute holds the {backend_dict.service_name} backends")


def install_backends(backends: Backends) -> None:
    """Put pickled backends back where moto's request handlers look them up."""
    for (module, attribute), accounts in backends.items():
        backend_dict = getattr(importlib.import_module(module), attribute)
        for account, by_region in accounts.items():
            account_backends = backend_dict[account]  # creates the account's (empty) dict
            for region, backend in by_region.items():
                dict.__setitem__(account_backends, region, backend)


@dataclass(frozen=True)
class Snapshot:
    """What a snapshot file holds: the backends and the last journal segment they include."""

    last_segment: int
    backends: Backends


def _load(path: Path) -> Any:
    # Only files this emulator wrote into its own state dir are ever unpickled.
    return pickle.loads(path.read_bytes())  # noqa: S301


def read_snapshot(state_dir: Path) -> Snapshot | None:
    """The snapshot in ``state_dir``, or None before the first one."""
    path = state_dir / SNAPSHOT
    loaded: Snapshot | None = _load(path) if path.exists() else None
    return loaded


def read_sqs_snapshot(state_dir: Path) -> Backends | None:
    """The newest SQS state in ``state_dir``, or None if SQS never changed."""
    path = state_dir / SQS_SNAPSHOT
    loaded: Backends | None = _load(path) if path.exists() else None
    return loaded


def segment_path(state_dir: Path, number: int) -> Path:
    """The journal segment with this number."""
    return state_dir / f"journal-{number:08d}.jsonl"


def segment_numbers(state_dir: Path) -> list[int]:
    """Numbers of the journal segments present, in order."""
    return sorted(int(path.stem.split("-")[1]) for path in state_dir.glob(SEGMENT_GLOB))


@dataclass(frozen=True)
class JournalEntry:
    """One successful mutating request, as much of its WSGI environ as moto reads."""

    environ: dict[str, str]
    body: bytes

    def to_line(self) -> bytes:
        record = {"environ": self.environ, "body": base64.b64encode(self.body).decode()}
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> JournalEntry:
        record = json.loads(line)
        return cls(environ=record["environ"], body=base64.b64decode(record["body"]))


def read_segment(path: Path) -> Iterator[JournalEntry]:
    """The entries of a segment. A last line cut short by a kill was never answered: skipped."""
    with path.open("rb") as segment:
        for line in segment:
            if not line.endswith(b"\n"):
                return
            yield JournalEntry.from_line(line)


class Journal:
    """The open segment that requests append to."""

    def __init__(self, state_dir: Path, number: int) -> None:
        self.state_dir = state_dir
        self.number = number
        self.entries = 0
        self._file: IO[bytes] = segment_path(state_dir, number).open("ab")

    def append(self, entry: JournalEntry) -> None:
        """Append and flush: once the OS has it, a SIGKILL of this process loses nothing."""
        self._file.write(entry.to_line())
        self._file.flush()
        self.entries += 1

    def close(self) -> None:
        self._file.close()
