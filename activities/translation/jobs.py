"""One language pair's Amazon Translate batch job (the article's steps 4 and 5).

* **Slots**: Translate limits how many batch jobs an account runs at once. The article
  controls that with one SQS message per pair; here each pair's workflow holds a lease row
  in Postgres while its job runs, at most ``limit`` rows, taken under an advisory lock so
  every worker of the fleet counts the same rows. Taking a slot twice holds one; a lease
  whose workflow is no longer running (terminated by hand) is given back by the next taker.
* **Prefixes**: each file of the job is kept as the customer sent it under
  ``.../r<round>/original/`` (what post-processing checks against, whatever is uploaded
  later) and as Translate is sent it under ``.../r<round>/input/``: Translate's batch jobs
  take XLIFF 1.2 only, so an XLIFF 2.x document goes as its 1.2 rendition (deterministic keys).
* **Glossaries**: custom terminology by ``ImportTerminology`` (OVERWRITE: importing again
  changes nothing), translation memory by ``CreateParallelData`` (Active Custom Translation),
  or ``UpdateParallelData`` when the resource exists from an earlier submission, then a wait
  until it is ACTIVE (a job may not use parallel data still being created).
* **Start**: idempotent by the job's name (the pair's workflow id and round): a job of that
  name that did not fail is the job, whoever started it; otherwise ``StartTextTranslationJob``
  with a ``ClientToken`` derived from the name and the count of earlier jobs of that name, so
  two attempts racing (a retry after a timeout, a worker that died mid-call) start one job,
  and an operator's retry after a FAILED job starts a new one.
* **Wait**: one ``DescribeTextTranslationJob`` per attempt, retried by the policy (retry as
  poll): the history is as long for a job of a minute as for one of a day.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.service import RPCError, RPCStatusCode

from activities.common.aws import AwsClients, aws_error_code
from activities.common.db import SessionMaker
from activities.models.translation import TranslationJobLease
from activities.translation.contracts import (
    ACQUIRE_SLOT,
    AWAIT_JOB,
    AWAIT_PARALLEL_DATA,
    CREATE_PARALLEL_DATA,
    GLOSSARY_REFUSED,
    IMPORT_TERMINOLOGY,
    INVALID_PROJECT,
    JOB_FAILED,
    JOB_NOT_DONE,
    NO_TRANSLATE_SLOT,
    PARALLEL_DATA_NOT_READY,
    PREPARE_JOB,
    RELEASE_SLOT,
    START_JOB,
    AwaitJobInput,
    GlossaryImported,
    GlossaryInput,
    JobDone,
    JobPrefixes,
    JobStarted,
    PrepareJobInput,
    SlotHeld,
    SlotRequest,
    StartJobInput,
    pair_name,
)
from activities.translation.keys import ProjectKeys
from activities.translation.xliff import UnsafeDocument, for_translate

XLIFF_CONTENT_TYPE = "application/x-xliff+xml"
SLOT_LOCK = zlib.crc32(b"stepwise:translation:slots")
"""The advisory lock every slot taker holds while it counts (one key for the whole fleet)."""
STALE_LEASE_AFTER = timedelta(minutes=2)
"""Leases younger than this are never checked against Temporal (their workflow just took them)."""
NOT_DONE_STATUSES = {"SUBMITTED", "IN_PROGRESS"}
FAILED_STATUSES = {"FAILED", "STOPPED", "STOP_REQUESTED"}
"""Jobs of a name that do not count as the job: an operator's retry starts another."""


def glossary_name(customer: str, project: str, source: str, target: str) -> str:
    """Translate's name for a pair's terminology / parallel data (letters, digits, ``-``)."""
    return f"{customer}-{project}-{pair_name(source, target)}".replace("_", "-")[:256]


class TranslateJobs:
    """Slots, prefixes, glossaries, start and wait of a pair's jobs."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, client: Client) -> None:
        self._aws = aws
        self._sessions = sessions
        self._client = client

    @activity.defn(name=ACQUIRE_SLOT.name)
    async def acquire_slot(self, request: SlotRequest) -> SlotHeld:
        """Hold one of ``limit`` slots, or raise a benign retryable ``NoTranslateSlot``."""
        async with self._sessions.begin() as session:
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SLOT_LOCK})
            holders = {
                row.holder: row.acquired_at
                for row in (await session.execute(select(TranslationJobLease.holder, TranslationJobLease.acquired_at)))
            }
            if request.holder in holders:
                return SlotHeld(in_use=len(holders))
            if len(holders) >= request.limit:
                freed = await self._stale(holders)
                if freed:
                    await session.execute(delete(TranslationJobLease).where(TranslationJobLease.holder.in_(freed)))
                if len(holders) - len(freed) >= request.limit:
                    raise ApplicationError(
                        f"all {request.limit} Translate job slots are taken",
                        type=NO_TRANSLATE_SLOT,
                        category=ApplicationErrorCategory.BENIGN,
                    )
                holders = {h: t for h, t in holders.items() if h not in freed}
            await session.execute(
                insert(TranslationJobLease)
                .values(holder=request.holder, project_id=request.project_id, acquired_at=func.now())
                .on_conflict_do_nothing()
            )
            return SlotHeld(in_use=len(holders) + 1)

    async def _stale(self, holders: dict[str, datetime]) -> list[str]:
        """Leases whose workflow has closed without giving them back."""
        cutoff = datetime.now(UTC) - STALE_LEASE_AFTER
        stale = []
        for holder, acquired in holders.items():
            if acquired > cutoff:
                continue
            try:
                described = await self._client.get_workflow_handle(holder).describe()
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:  # gone (past retention): nobody will give it back
                    stale.append(holder)
                continue  # the server is unreachable: keep it
            if described.status != WorkflowExecutionStatus.RUNNING:
                stale.append(holder)
        return stale

    @activity.defn(name=RELEASE_SLOT.name)
    async def release_slot(self, request: SlotRequest) -> None:
        """Give the slot back (nothing held: nothing to do)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(TranslationJobLease).where(TranslationJobLease.holder == request.holder))

    @activity.defn(name=PREPARE_JOB.name)
    async def prepare_job(self, request: PrepareJobInput) -> JobPrefixes:
        """Copy the job's files to its input prefix; return where it reads and writes."""
        project, plan = request.request, request.plan
        keys = ProjectKeys(project.customer, project.project)
        source, target = plan.source_language, plan.target_language
        input_prefix = keys.job_input(source, target, request.round)
        original_prefix = keys.job_original(source, target, request.round)
        for name in request.files:
            activity.heartbeat(name)
            data = await self._aws.read_object(project.bucket, keys.inbound_key(name))
            try:
                sent = await asyncio.to_thread(for_translate, data)
            except UnsafeDocument as refused:  # replaced by something else since preprocessing
                raise ApplicationError(
                    f"{name} changed since the project was read and is refused: {refused.reason}",
                    type=INVALID_PROJECT,
                    non_retryable=True,
                ) from None
            await self._aws.call("s3", "put_object", Bucket=project.bucket, Key=original_prefix + name, Body=data)
            await self._aws.call("s3", "put_object", Bucket=project.bucket, Key=input_prefix + name, Body=sent)
        return JobPrefixes(
            input_uri=f"s3://{project.bucket}/{input_prefix}",
            output_uri=f"s3://{project.bucket}/{keys.job_output(source, target, request.round)}",
        )

    @activity.defn(name=IMPORT_TERMINOLOGY.name)
    async def import_terminology(self, request: GlossaryInput) -> GlossaryImported:
        """Import the pair's custom terminology (the first file that covers the pair)."""
        project, plan = request.request, request.plan
        name = glossary_name(project.customer, project.project, plan.source_language, plan.target_language)
        file = plan.terminology[0]
        data = await self._aws.read_object(
            project.bucket, ProjectKeys(project.customer, project.project).inbound_key(file)
        )
        await self._glossary_call(
            "import_terminology",
            Name=name,
            MergeStrategy="OVERWRITE",
            Description=f"{project.customer}/{project.project}: {file}"[:256],
            TerminologyData={"File": data, "Format": "TMX" if file.lower().endswith(".tmx") else "CSV"},
        )
        return GlossaryImported(name)

    @activity.defn(name=CREATE_PARALLEL_DATA.name)
    async def create_parallel_data(self, request: GlossaryInput) -> GlossaryImported:
        """Create the pair's parallel data from its translation memory, or update it when it exists.

        The client token names this version of the memory file (its ETag), so a retried call
        creates or updates once.
        """
        project, plan = request.request, request.plan
        name = glossary_name(project.customer, project.project, plan.source_language, plan.target_language)
        key = ProjectKeys(project.customer, project.project).inbound_key(plan.memory[0])
        head = await self._aws.call("s3", "head_object", Bucket=project.bucket, Key=key)
        token = _token(f"{name}:{head.get('ETag', '')}")
        config = {"S3Uri": f"s3://{project.bucket}/{key}", "Format": "TMX"}
        try:
            await self._glossary_call("create_parallel_data", Name=name, ParallelDataConfig=config, ClientToken=token)
        except ApplicationError as error:
            if aws_error_code(error) != "ConflictException":
                raise
            await self._glossary_call("update_parallel_data", Name=name, ParallelDataConfig=config, ClientToken=token)
        return GlossaryImported(name)

    @activity.defn(name=AWAIT_PARALLEL_DATA.name)
    async def await_parallel_data(self, request: GlossaryImported) -> GlossaryImported:
        """One GetParallelData: ACTIVE (its latest update too) -> done; CREATING/UPDATING -> benign retry."""
        found = (await self._aws.call("translate", "get_parallel_data", Name=request.name))["ParallelDataProperties"]
        status = str(found.get("Status", "CREATING"))
        update = str(found.get("LatestUpdateAttemptStatus", "ACTIVE"))
        if "FAILED" in (status, update):
            raise ApplicationError(
                f"parallel data {request.name} failed: {found.get('Message') or 'no reason given'}",
                type=GLOSSARY_REFUSED,
                non_retryable=True,
            )
        if status != "ACTIVE" or update != "ACTIVE":
            raise ApplicationError(
                f"parallel data {request.name} is {status} (latest update {update})",
                type=PARALLEL_DATA_NOT_READY,
                category=ApplicationErrorCategory.BENIGN,
            )
        return request

    async def _glossary_call(self, operation: str, **params: Any) -> None:
        try:
            await self._aws.call("translate", operation, **params)
        except ApplicationError as error:
            if error.non_retryable and aws_error_code(error) != "ConflictException":
                raise ApplicationError(
                    f"Translate refused the glossary: {error.message}", type=GLOSSARY_REFUSED, non_retryable=True
                ) from None
            raise

    @activity.defn(name=START_JOB.name)
    async def start_job(self, request: StartJobInput) -> JobStarted:
        """The job named ``job_name``: the one already started (and not failed), or a new one."""
        earlier = await self._jobs_named(request.job_name)
        standing = [job for job in earlier if job.get("JobStatus") not in FAILED_STATUSES]
        if standing:
            return JobStarted(job_id=str(max(standing, key=lambda job: job.get("SubmittedTime", 0))["JobId"]))
        plan = request.plan
        params: dict[str, Any] = {
            "JobName": request.job_name[:256],
            "InputDataConfig": {"S3Uri": request.prefixes.input_uri, "ContentType": XLIFF_CONTENT_TYPE},
            "OutputDataConfig": {"S3Uri": request.prefixes.output_uri},
            "DataAccessRoleArn": request.request.role_arn,
            "SourceLanguageCode": plan.source_language,
            "TargetLanguageCodes": [plan.target_language],
            "ClientToken": _token(f"{request.job_name}:{len(earlier)}"),
        }
        if request.terminology:
            params["TerminologyNames"] = [request.terminology]
        if request.parallel_data:
            params["ParallelDataNames"] = [request.parallel_data]
        started = await self._aws.call("translate", "start_text_translation_job", **params)
        return JobStarted(job_id=str(started["JobId"]))

    async def _jobs_named(self, name: str) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        params: dict[str, Any] = {"Filter": {"JobName": name}}
        while True:
            page = await self._aws.call("translate", "list_text_translation_jobs", **params)
            jobs.extend(page.get("TextTranslationJobPropertiesList", []))
            if not page.get("NextToken"):
                return jobs
            params["NextToken"] = page["NextToken"]

    @activity.defn(name=AWAIT_JOB.name)
    async def await_job(self, request: AwaitJobInput) -> JobDone:
        """One DescribeTextTranslationJob: not done -> benign retry; FAILED -> Translate's reason."""
        described = await self._aws.call("translate", "describe_text_translation_job", JobId=request.job_id)
        job = described["TextTranslationJobProperties"]
        status = str(job.get("JobStatus", "SUBMITTED"))
        if status in NOT_DONE_STATUSES:
            raise ApplicationError(
                f"Translate job {request.job_id} is {status}",
                type=JOB_NOT_DONE,
                category=ApplicationErrorCategory.BENIGN,
            )
        folder = _job_folder(job, request.job_id)
        if status == "COMPLETED_WITH_ERROR":
            # Some documents failed: the rest is post-processed, the failed ones are resubmitted
            # once, and Translate's reasons travel with them.
            return JobDone(request.job_id, folder, await self._document_errors(folder, job))
        if status != "COMPLETED":
            reason = job.get("Message") or "no reason given"
            raise ApplicationError(
                f"Translate job {request.job_id} for {request.pair} ended {status}: {reason}",
                {"status": status, "message": reason},
                type=JOB_FAILED,
                non_retryable=True,
            )
        return JobDone(job_id=request.job_id, output_uri=folder)

    async def _document_errors(self, folder: str, job: dict[str, Any]) -> list[str]:
        """Translate's reason per failed document, from the job's auxiliary details files."""
        bucket, _, prefix = folder.removeprefix("s3://").partition("/")
        errors: list[str] = []
        for target in job.get("TargetLanguageCodes", []):
            try:
                details = json.loads(
                    await self._aws.read_object(bucket, f"{prefix}details/{target}.auxiliary-translation-details.json")
                )
            except (ApplicationError, ValueError):
                continue  # no details file: the per-document reasons are unknown, the gaps still show
            for entry in details.get("details", []) if isinstance(details, dict) else []:
                if isinstance(entry, dict) and entry.get("error"):
                    error = entry["error"]
                    text = error.get("errorMessage") or error.get("errorCode") if isinstance(error, dict) else error
                    errors.append(f"{entry.get('sourceFile', '?')}: {text}")
        if not errors:
            counts = job.get("JobDetails", {})
            errors.append(f"{counts.get('DocumentsWithErrorsCount', '?')} documents failed (no details given)")
        return errors[:50]


def _token(seed: str) -> str:
    """A Translate client token (letters, digits, ``-``; at most 64) that always comes out the same for ``seed``."""
    return hashlib.sha256(seed.encode()).hexdigest()[:48]


def _job_folder(job: dict[str, Any], job_id: str) -> str:
    """The folder holding the job's output: Translate reports it as the job's output URI
    (``.../<account>-TranslateText-<job id>/``); the folder is added when only the requested
    prefix comes back."""
    output = str(job["OutputDataConfig"]["S3Uri"]).rstrip("/")
    if output.endswith(f"-TranslateText-{job_id}"):
        return output + "/"
    parts = str(job.get("DataAccessRoleArn", "")).split(":")
    account = parts[4] if len(parts) > 4 and parts[4] else "123456789012"
    return f"{output}/{account}-TranslateText-{job_id}/"
