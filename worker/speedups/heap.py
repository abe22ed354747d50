"""Garbage-collector settings for a long-running worker, applied once start-up is done.

By the time the worker polls, the process holds a few hundred thousand long-lived objects
(temporalio, SQLAlchemy, boto3's service models, protobuf descriptors). With CPython's
defaults every full collection walks all of them again, and workflow tasks allocate
enough short-lived objects to trigger collections many times a second. So: freeze what
start-up built (it is never garbage) and collect the young generation less often. The
booking benchmark measured about 5% less worker CPU per saga.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 20_000
"""Allocations (net of frees) between young-generation collections; CPython's default is 700."""
OLDER_GENERATION_THRESHOLD = 20
"""Collections of the generation below between collections of the next; the default is 10."""


def settle_heap() -> None:
    """Collect once, freeze the survivors, and raise the collection thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, OLDER_GENERATION_THRESHOLD, OLDER_GENERATION_THRESHOLD)
