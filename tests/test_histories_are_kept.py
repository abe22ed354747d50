"""Committed histories are kept as recorded: a new one is added beside them, none is re-recorded.

A history stands for executions that may still be running on the code that wrote it. When a
workflow change breaks its replay, re-recording it makes the replay test pass and hides the
break from those executions. The digests in ``tests/histories/SHA256SUMS`` (``sha256sum``'s
format) make such a change fail here: guard the change with ``workflow.patched`` and record
the new path as a new file (README, "Rolling out a new worker version safely").
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HISTORIES = Path(__file__).parent / "histories"
SUMS = HISTORIES / "SHA256SUMS"


def _listed() -> dict[str, str]:
    digests = {}
    for line in SUMS.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        digests[name.lstrip("*")] = digest
    return digests


def test_no_committed_history_was_changed_or_removed() -> None:
    changed = [
        name
        for name, digest in _listed().items()
        if not (HISTORIES / name).is_file() or hashlib.sha256((HISTORIES / name).read_bytes()).hexdigest() != digest
    ]
    assert changed == [], (
        f"{changed}: re-recorded or removed. Executions recorded like this may be running: keep the file, guard "
        "the workflow change with workflow.patched and record the new path as a new history"
    )


def test_every_history_is_listed() -> None:
    unlisted = sorted({path.name for path in HISTORIES.glob("*.json")} - set(_listed()))
    assert unlisted == [], f"{unlisted}: add them with `cd tests/histories && sha256sum NAME.json >> SHA256SUMS`"
