"""Translation project operations shared by the intake, the API and the CLI.

Submitting writes the files under ``translation-inbound/<customer>/<project>/`` and
signals-with-start the project's workflow (``translation-<customer>-<project>``), exactly
as the S3 event of each file does through the intake; the same project submitted twice is
one project. Status comes from Postgres (the project, its files and pairs) and, before
preprocessing has written a row, from the workflow's progress query.
"""

from __future__ import annotations

import asyncio
import datetime
import posixpath
import re
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.contracts import AttentionPolicy
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.translation import TranslationFile, TranslationPair, TranslationProject
from activities.translation.contracts import (
    PIPELINE,
    FileArrived,
    Pricing,
    ProjectProgress,
    ProjectRequest,
    project_id,
    project_workflow_id,
)
from activities.translation.keys import ProjectKeys
from worker.settings import Settings
from workflows.translation.project import (
    COLLECTED_MEMO,
    FILE_ARRIVED_SIGNAL,
    PROGRESS_QUERY,
    TranslationProjectWorkflow,
)

FILE_NAME_PATTERN = re.compile(r"^(?:(?:terminology|memory)/)?[A-Za-z0-9][A-Za-z0-9 ._()-]{0,199}$")
"""A project file's name: a plain file name, or one inside ``terminology/`` or ``memory/``."""


PROGRESS_QUERY_SECONDS = 5.0
"""How long status waits for a worker to answer the progress query of a project still collecting."""


class InvalidFileName(ValueError):
    """A file name that cannot be a key under the project's folder."""


def check_file_name(name: str) -> str:
    """``name`` if it is a safe relative name for a project file, else :class:`InvalidFileName`."""
    if not FILE_NAME_PATTERN.fullmatch(name) or posixpath.normpath(name) != name or ".." in name:
        raise InvalidFileName(
            f"{name!r}: a file name is letters, digits, space, . _ ( ) -, up to 200 characters, "
            "optionally inside terminology/ or memory/"
        )
    return name


def project_request(
    settings: Settings, resources: Resources, customer: str, project: str, owner: str | None
) -> ProjectRequest:
    """The workflow input for a project, from the settings in force now."""
    translation = settings.translation

    def seconds(hours: float | None) -> float | None:
        return None if hours is None else hours * 3600.0

    return ProjectRequest(
        customer=customer,
        project=project,
        bucket=resources.translation_bucket,
        staging_bucket=resources.translation_staging_bucket,
        role_arn=translation.data_access_role_arn,
        settle_seconds=translation.settle_seconds,
        max_pairs_in_flight=translation.max_pairs_in_flight,
        poll_seconds=translation.poll_seconds,
        max_job_seconds=translation.max_job_hours * 3600.0,
        pricing=Pricing(str(translation.price_standard_per_million), str(translation.price_custom_per_million)),
        archive_after_days=translation.archive_after_days,
        archive_storage_class=translation.archive_storage_class,
        review_attention=AttentionPolicy(
            remind_after_seconds=seconds(translation.review_remind_hours),
            escalate_after_seconds=seconds(translation.review_escalate_hours),
        ),
        max_files=translation.max_files,
        owner=owner,
    )


async def signal_project(client: Client, request: ProjectRequest, key: str, task_queue: str) -> str:
    """Signal-with-start the project's workflow that ``key`` arrived; its workflow id.

    A project already finished (delivered or refused) is not started again: the same project
    submitted twice is one project. A failed one may be submitted again.
    """
    workflow_id = project_workflow_id(request.customer, request.project)
    with suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            TranslationProjectWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            start_signal=FILE_ARRIVED_SIGNAL,
            start_signal_args=[FileArrived(key)],
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.PIPELINE, PIPELINE),
                    SearchAttributePair(
                        search_attributes.BUSINESS_KEY, f"{request.customer}/translation/{request.project}"
                    ),
                ]
            ),
            memo={"owner": request.owner} if request.owner else None,
        )
    return workflow_id


async def closed_reason(client: Client, customer: str, project: str) -> str | None:
    """Why files sent to the project now would not be translated, or None when they would.

    A delivered project, or one already past collecting its files, takes no more: its files
    would sit in the folder untranslated. A project that failed (or never existed) starts again.
    """
    pid = project_id(customer, project)
    handle = client.get_workflow_handle(project_workflow_id(customer, project))
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if described.status == WorkflowExecutionStatus.COMPLETED:
        return f"translation project {pid} was delivered; send further files as a new project"
    if described.status != WorkflowExecutionStatus.RUNNING:
        return None
    if (await described.memo()).get(COLLECTED_MEMO):
        return (
            f"translation project {pid} has already read its files: files sent now would not be translated; "
            "send them as a new project"
        )
    return None


async def upload_files(
    aws: AwsClients, resources: Resources, customer: str, project: str, files: list[tuple[str, bytes]]
) -> list[str]:
    """Write each file under the project's inbound folder; the keys written."""
    keys = ProjectKeys(customer, project)
    written = []
    for name, data in files:
        key = keys.inbound_key(check_file_name(name))
        await aws.call("s3", "put_object", Bucket=resources.translation_bucket, Key=key, Body=data)
        written.append(key)
    return written


@dataclass(frozen=True)
class PairView:
    """One language pair as status shows it."""

    source_language: str
    target_language: str
    state: str
    files: int
    segments: int
    flagged: int
    missing: int
    characters: int
    price_per_million: str | None
    cost_usd: str | None
    jobs: list[str]
    reason: str | None


@dataclass(frozen=True)
class FileView:
    """A file refused into quarantine."""

    name: str
    reason: str | None
    quarantine_key: str | None


@dataclass(frozen=True)
class ProjectView:
    """A project as its customer and the operators see it."""

    project_id: str
    customer: str
    project: str
    workflow_id: str
    status: str
    owner: str | None
    files: int
    characters: int
    cost_usd: str
    reviewed_by: str | None
    review_comment: str | None
    reason: str | None
    pairs: list[PairView] = field(default_factory=list)
    quarantined: list[FileView] = field(default_factory=list)
    created_at: datetime.datetime | None = None
    delivered_at: datetime.datetime | None = None
    outbound_prefix: str = ""
    late_files: list[str] = field(default_factory=list)
    """Files that arrived after the project was read: not translated (send them as a new project)."""

    def as_json(self) -> dict[str, Any]:
        """JSON-ready (timestamps as ISO strings)."""
        from dataclasses import asdict

        data = asdict(self)
        for name in ("created_at", "delivered_at"):
            value = data[name]
            data[name] = value.isoformat() if value else None
        return data


async def project_view(
    sessions: SessionMaker, client: Client, resources: Resources, customer: str, project: str
) -> ProjectView | None:
    """The project's status, or None when it is unknown (no row and no workflow).

    Once the project has a row, everything but its late files comes from Postgres. Before
    that, the view is the workflow's, and the workflow is asked first, Postgres read again
    second: preprocessing commits the row before the workflow's status moves past
    PREPROCESSING, so a status that implies a row always comes with it (read the other way
    round, a view could say TRANSLATING with no pairs, no characters and no cost).
    """
    outbound = f"s3://{resources.translation_bucket}/{ProjectKeys(customer, project).outbound}"
    recorded = await _from_postgres(sessions, client, customer, project, outbound)
    if recorded is not None:
        return recorded
    live = await _from_workflow(client, customer, project, outbound)
    return await _from_postgres(sessions, client, customer, project, outbound) or live


async def _from_postgres(
    sessions: SessionMaker, client: Client, customer: str, project: str, outbound: str
) -> ProjectView | None:
    """The project as its row records it (and the workflow's late files while it runs); None without a row."""
    pid = project_id(customer, project)
    async with sessions() as session:
        row = await session.get(TranslationProject, pid)
        if row is None:
            return None
        pairs = (
            await session.scalars(
                select(TranslationPair)
                .where(TranslationPair.project_id == pid)
                .order_by(TranslationPair.source_language, TranslationPair.target_language)
            )
        ).all()
        refused = (
            await session.scalars(
                select(TranslationFile)
                .where(TranslationFile.project_id == pid, TranslationFile.status == "QUARANTINED")
                .order_by(TranslationFile.name)
            )
        ).all()
    return ProjectView(
        project_id=pid,
        customer=customer,
        project=project,
        workflow_id=row.workflow_id,
        status=row.status,
        owner=row.owner,
        files=row.files,
        characters=row.characters,
        cost_usd=_money(row.cost_usd),
        reviewed_by=row.reviewed_by,
        review_comment=row.review_comment,
        reason=row.reason,
        pairs=[
            PairView(
                source_language=p.source_language,
                target_language=p.target_language,
                state=p.state,
                files=p.files,
                segments=p.segments,
                flagged=p.flagged,
                missing=p.missing,
                characters=p.characters,
                price_per_million=str(p.price_per_million) if p.price_per_million is not None else None,
                cost_usd=_money(p.cost_usd) if p.cost_usd is not None else None,
                jobs=p.jobs.split(",") if p.jobs else [],
                reason=p.reason,
            )
            for p in pairs
        ],
        quarantined=[FileView(f.name, f.reason, f.quarantine_key) for f in refused],
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        outbound_prefix=outbound,
        late_files=await _late_files(client, customer, project) if row.status in RUNNING_STATUSES else [],
    )


RUNNING_STATUSES = {"TRANSLATING", "IN_REVIEW", "CHANGES_REQUESTED", "DELIVERING"}
"""Project statuses whose workflow still runs (and may have seen files arrive too late)."""


async def _late_files(client: Client, customer: str, project: str) -> list[str]:
    handle = client.get_workflow_handle(project_workflow_id(customer, project))
    try:
        progress = await asyncio.wait_for(
            handle.query(PROGRESS_QUERY, result_type=ProjectProgress), PROGRESS_QUERY_SECONDS
        )
    except (TimeoutError, RPCError):
        return []  # no worker answered: status still answers from Postgres
    return list(progress.late_files)


async def _from_workflow(client: Client, customer: str, project: str, outbound: str) -> ProjectView | None:
    """A project still collecting its files: only the workflow knows it."""
    handle = client.get_workflow_handle(project_workflow_id(customer, project))
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise  # Temporal unreachable: an outage, not an unknown project
    try:
        # Bounded: with no worker polling, Temporal would hold the query until its own deadline.
        progress = await asyncio.wait_for(
            handle.query(PROGRESS_QUERY, result_type=ProjectProgress), PROGRESS_QUERY_SECONDS
        )
    except (TimeoutError, RPCError):
        execution = described.status.name if described.status else "UNKNOWN"
        progress = ProjectProgress(execution, 0, [], 0, "no worker answered the progress query in time")
    memo = await described.memo()
    owner = memo.get("owner") if isinstance(memo.get("owner"), str) else None
    return ProjectView(
        project_id=project_id(customer, project),
        customer=customer,
        project=project,
        workflow_id=handle.id,
        status=progress.status,
        owner=owner,
        files=progress.files_arrived,
        characters=0,
        cost_usd="0.00",
        reviewed_by=None,
        review_comment=None,
        reason=progress.reason,
        outbound_prefix=outbound,
    )


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


async def outbound_files(aws: AwsClients, resources: Resources, customer: str, project: str) -> list[tuple[str, bytes]]:
    """Every delivered file of the project: (``<target>/<file>``, content)."""
    prefix = ProjectKeys(customer, project).outbound
    found: list[tuple[str, bytes]] = []
    params: dict[str, Any] = {"Bucket": resources.translation_bucket, "Prefix": prefix}
    while True:
        page = await aws.call("s3", "list_objects_v2", **params)
        for item in page.get("Contents", []):
            key = str(item["Key"])
            found.append((key[len(prefix) :], await aws.read_object(resources.translation_bucket, key)))
        if not page.get("IsTruncated"):
            return found
        params["ContinuationToken"] = page["NextContinuationToken"]
