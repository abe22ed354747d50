"""Start a pipeline once per business key.

The workflow id is the business key, so a resubmission finds the first execution
(running or finished) instead of starting a second one. A digest of the request is kept
in the workflow's memo: the same key with different content is a conflict, not a
silent reuse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities import search_attributes


class BusinessKeyReused(ValueError):
    """The key was already used for a request with different content."""


def fingerprint(request: Any) -> str:
    """A digest of a dataclass request's content."""
    return hashlib.sha256(json.dumps(dataclasses.asdict(request), sort_keys=True).encode()).hexdigest()


async def start_once(
    client: Client,
    run: Callable[[Any, Any], Awaitable[Any]],
    request: Any,
    *,
    workflow_id: str,
    task_queue: str,
    pipeline: str,
    business_key: str,
) -> bool:
    """Start ``run(request)`` as ``workflow_id``; False when that key already had the same request.

    Raises:
        BusinessKeyReused: the key was used before with different content.
    """
    digest = fingerprint(request)
    try:
        await client.start_workflow(
            run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            memo={"fingerprint": digest},
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.PIPELINE, pipeline),
                    SearchAttributePair(search_attributes.BUSINESS_KEY, business_key),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        description = await client.get_workflow_handle(workflow_id).describe()
        if await description.memo_value("fingerprint", default=None) != digest:
            raise BusinessKeyReused(business_key) from None
        return False
    return True
