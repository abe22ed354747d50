"""What each pipeline's dead-letter queue holds, and redriving a failed case from it.

Reading never consumes: messages are received with a zero visibility timeout, so they
stay where they are for every other reader. A redrive starts the case again with the
input the dead letter kept, under the same business key (Temporal accepts the same
workflow id again only after a *failed* run), audits it like a decision, and only then
deletes the message. A business outcome — a declined card, a quarantined file, media
Transcribe could not read — is not redrivable, and the reason says why.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.media import contracts as media
from activities.models.step_control import StepDecisionRecord

PEEK_ROUNDS = 5
"""Receive calls made to list a queue (SQS returns a sample of up to 10 messages per call)."""

MEDIA_OUTCOMES = {
    media.TRANSCRIPTION_FAILED: "Transcribe could not transcribe this media; a new run would fail the same way",
    media.MEDIA_NOT_FOUND: "the media does not exist; submit a job for media that does",
    media.MEDIA_TOO_LARGE: "the media is larger than allowed; it was refused, not failed",
    media.UNSUPPORTED_LANGUAGE_PAIR: "Translate does not support a requested language pair",
    media.INVALID_REQUEST: "the request itself was invalid (quarantined as submitted)",
}
"""Media failures that are business outcomes: the same input cannot succeed."""


class RedriveRefused(Exception):
    """The dead letter cannot be redriven; the message says why."""


class DeadLetterNotFound(Exception):
    """No message with that id is in the queue (redriven or removed already)."""


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, as read without consuming it."""

    message_id: str
    pipeline: str
    queue: str
    business_key: str
    workflow_id: str
    failed_step: str
    error_type: str
    reason: str
    sent_at: str
    receives: int
    redrivable: bool
    not_redrivable_because: str
    body: dict[str, Any]


def queues(resources: Resources) -> dict[str, str]:
    """Pipeline -> its dead-letter queue's name."""
    return {
        "booking": resources.booking_dlq,
        "media": resources.media_dlq,
        "b2b": resources.b2b_dlq,
        "b2b-intake": resources.b2b_intake_dlq,
        "recon": resources.recon_dlq,
        "poller": resources.poller_dlq,
        "translation-intake": resources.translation_intake_dlq,
        "documents-intake": resources.documents_intake_dlq,
    }


async def peek(aws: AwsClients, resources: Resources, pipeline: str) -> list[DeadLetter]:
    """The messages of ``pipeline``'s dead-letter queue (a sample of at most ~50), oldest first."""
    queue = queues(resources)[pipeline]
    url = await aws.queue_url(queue)
    seen: dict[str, DeadLetter] = {}
    for _ in range(PEEK_ROUNDS):
        response = await aws.call(
            "sqs",
            "receive_message",
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            WaitTimeSeconds=0,
        )
        batch = response.get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in seen]
        for message in new:
            seen[message["MessageId"]] = _read(pipeline, queue, message)
        if not new:
            break
    return sorted(seen.values(), key=lambda letter: (letter.sent_at, letter.message_id))


def _read(pipeline: str, queue: str, message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    sent_at = datetime.datetime.fromtimestamp(int(sent) / 1000, datetime.UTC).isoformat() if sent else ""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = {"raw": message["Body"][:2000]}
    if not isinstance(body, dict):
        body = {"raw": body}
    if pipeline == "poller":  # a payload message, not a failure story: name its job and page
        body.setdefault("workflow_id", f"poller-{body.get('jobId', '')}")
        body.setdefault("step", f"process:{body.get('taskId', '')}")
    refusal = _refusal(pipeline, body)
    return DeadLetter(
        message_id=message["MessageId"],
        pipeline=pipeline,
        queue=queue,
        business_key=str(
            body.get("job_id")
            or body.get("jobId")
            or body.get("booking_id")
            or body.get("batch_id")
            or body.get("run_id")
            or ""
        ),
        workflow_id=str(body.get("workflow_id") or ""),
        failed_step=str(body.get("failed_step") or body.get("step") or ""),
        error_type=str(body.get("error_type") or ""),
        reason=str(body.get("reason") or body.get("error") or ""),
        sent_at=sent_at,
        receives=int(attributes.get("ApproximateReceiveCount", 0)),
        redrivable=refusal is None,
        not_redrivable_because=refusal or "",
        body=body,
    )


def _refusal(pipeline: str, body: dict[str, Any]) -> str | None:
    """Why this dead letter cannot be redriven, or None when it can."""
    if pipeline == "media":
        if body.get("event") != "media.failed":
            return "not a media job's failure story"
        return MEDIA_OUTCOMES.get(str(body.get("error_type")))
    if pipeline == "booking":
        return (
            "a booking's dead letter does not keep the customer's payment token (by design), "
            "so it cannot be charged again: the customer books again"
        )
    if pipeline == "recon":
        return "a reconciliation is started again as a new run: `stepwise recon start` with a new --run"
    if pipeline == "poller":
        return (
            "a page whose records could not be stored (its task says why, FailedToComplete): "
            "fix the cause and synchronise again (`stepwise poller start` with a new job id)"
        )
    if pipeline == "b2b":
        return "a failed batch's transactions keep their own outcomes: upload the file again to reprocess it"
    if pipeline in ("translation-intake", "documents-intake"):
        return (
            "an S3 event the intake could not read or deliver: the file stays in its inbound folder; "
            "upload it again (its new event reaches the intake)"
        )
    return "an intake message whose file could not be read: the file is quarantined; upload a corrected one"


@dataclass(frozen=True)
class Redriven:
    """A dead letter started again."""

    message_id: str
    workflow_id: str
    run_id: str


async def redrive(
    client: Client,
    aws: AwsClients,
    sessions: SessionMaker,
    resources: Resources,
    *,
    pipeline: str,
    message_id: str,
    operator: str,
    task_queue: str,
    via: str,
) -> Redriven:
    """Start the dead letter's case again, audit it, then delete the message."""
    letter = next((m for m in await peek(aws, resources, pipeline) if m.message_id == message_id), None)
    if letter is None:
        raise DeadLetterNotFound(f"no message {message_id!r} in {pipeline}'s dead-letter queue")
    if not letter.redrivable:
        raise RedriveRefused(letter.not_redrivable_because)
    request = _media_request(letter.body)
    run_id = await _start_again(client, letter.workflow_id, request, task_queue)
    await _audit(sessions, letter, operator, via, run_id)
    await _delete(aws, letter)
    return Redriven(message_id, letter.workflow_id, run_id)


def _media_request(body: dict[str, Any]) -> media.MediaJobRequest:
    names = {f.name for f in fields(media.MediaJobRequest)}
    try:
        return media.MediaJobRequest(**{k: v for k, v in body.items() if k in names})
    except TypeError as error:
        raise RedriveRefused(f"the dead letter does not hold a whole media request: {error}") from None


async def _start_again(client: Client, workflow_id: str, request: media.MediaJobRequest, task_queue: str) -> str:
    from worker.services.starting import start_tags
    from workflows.media.workflow import MediaWorkflow

    handle = client.get_workflow_handle(workflow_id)
    try:
        status = (await handle.describe()).status
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        status = None
    if status == WorkflowExecutionStatus.RUNNING:
        raise RedriveRefused(f"{workflow_id} is running again already")
    if status == WorkflowExecutionStatus.COMPLETED:
        raise RedriveRefused(f"{workflow_id} has completed since; nothing to redrive")
    try:
        started = await client.start_workflow(
            MediaWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            # Only after a failure, cancellation or termination: a completed case is never run twice.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            **start_tags(request, pipeline=media.PIPELINE, business_key=request.job_id, owner=request.owner),
        )
    except WorkflowAlreadyStartedError:
        raise RedriveRefused(f"{workflow_id} cannot start again (it is running or completed)") from None
    return started.result_run_id or ""


async def _audit(sessions: SessionMaker, letter: DeadLetter, operator: str, via: str, run_id: str) -> None:
    async with sessions.begin() as session:
        await session.execute(
            insert(StepDecisionRecord)
            .values(
                audit_id=f"redrive:{letter.message_id}"[:100],
                workflow_id=letter.workflow_id,
                run_id=run_id,
                pipeline=letter.pipeline,
                step="redrive",
                action="redrive",
                operator=operator,
                reason=f"redriven from {letter.queue}: {letter.error_type} at {letter.failed_step}",
                via=via,
                outcome="accepted",
                rejection=None,
                decided_at=datetime.datetime.now(datetime.UTC),
            )
            .on_conflict_do_nothing()
        )


async def _delete(aws: AwsClients, letter: DeadLetter) -> None:
    """Delete the message once the new run has started (it must be received for a receipt handle)."""
    url = await aws.queue_url(letter.queue)
    for _ in range(PEEK_ROUNDS * 2):
        response = await aws.call(
            "sqs", "receive_message", QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
        )
        batch = response.get("Messages", [])
        for message in batch:
            if message["MessageId"] == letter.message_id:
                await aws.call("sqs", "delete_message", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:  # not ours: visible again at once for everyone else
                await aws.call(
                    "sqs",
                    "change_message_visibility",
                    QueueUrl=url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
        if any(message["MessageId"] == letter.message_id for message in batch) or not batch:
            return
