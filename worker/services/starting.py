"""Start a pipeline once per business key.

The workflow id is the business key, so a resubmission finds the first execution
(running or finished) instead of starting a second one. A digest of the request is kept
in the workflow's memo: the same key with different content is a conflict, not a
silent reuse. The memo also names the partner who started the execution (its owner),
so ownership is known before the pipeline has written any row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.common import search_attributes
from activities.common.db import SessionMaker


class BusinessKeyReused(ValueError):
    """The key was already used for a request with different content."""


OWNER_MEMO = "owner"
"""Memo key of the partner who started an execution (absent when an operator did)."""


@dataclasses.dataclass(frozen=True)
class Started:
    """An execution that exists, and who started it."""

    owner: str | None
    """The partner who started it; None for an operator (or an execution older than owners)."""


class NoSuchRecord(LookupError):
    """Neither a row nor an execution exists under the key."""


async def record_owner(
    client: Client, sessions: SessionMaker, row_type: type[Any], key: str, workflow_id: str
) -> str | None:
    """Who owns a pipeline's record: its row's ``owner`` or, before the row exists, the start memo.

    None is an operator's record. Raises :class:`NoSuchRecord` when there is neither.
    """
    async with sessions() as session:
        row = await session.get(row_type, key)
    if row is not None:
        owner: str | None = row.owner
        return owner
    execution = await started(client, workflow_id)
    if execution is None:
        raise NoSuchRecord(key)
    return execution.owner


def fingerprint(request: Any) -> str:
    """A digest of a dataclass request's content."""
    content = dataclasses.asdict(request)
    # Requests from before owners were recorded had no such field: keep their digests.
    if content.get("owner", "") is None:
        del content["owner"]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


async def started(client: Client, workflow_id: str) -> Started | None:
    """Who started ``workflow_id``, or None if no such execution exists."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return Started(await description.memo_value(OWNER_MEMO, default=None))


async def start_once(
    client: Client,
    run: Callable[[Any, Any], Awaitable[Any]],
    request: Any,
    *,
    workflow_id: str,
    task_queue: str,
    pipeline: str,
    business_key: str,
    owner: str | None = None,
) -> bool:
    """Start ``run(request)`` as ``workflow_id``; False when that key already had the same request.

    Raises:
        BusinessKeyReused: the key was used before with different content.
    """
    tags = start_tags(request, pipeline=pipeline, business_key=business_key, owner=owner)
    digest = tags["memo"]["fingerprint"]
    try:
        await client.start_workflow(
            run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            **tags,
        )
    except WorkflowAlreadyStartedError:
        description = await client.get_workflow_handle(workflow_id).describe()
        if await description.memo_value("fingerprint", default=None) != digest:
            raise BusinessKeyReused(business_key) from None
        return False
    return True


class StartTags(TypedDict):
    """The memo and search attributes every case starts with."""

    memo: dict[str, Any]
    search_attributes: TypedSearchAttributes


def start_tags(request: Any, *, pipeline: str, business_key: str, owner: str | None) -> StartTags:
    """Memo (the request's fingerprint, its owner) and search attributes (pipeline, business key) of a start."""
    digest = fingerprint(request)
    memo: dict[str, Any] = {"fingerprint": digest} if owner is None else {"fingerprint": digest, OWNER_MEMO: owner}
    return StartTags(
        memo=memo,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.PIPELINE, pipeline),
                SearchAttributePair(search_attributes.BUSINESS_KEY, business_key),
            ]
        ),
    )
