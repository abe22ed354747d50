"""Post-processing of a pair's job (the article's Step Functions workflow, Figure 3).

Verify that every trans-unit came back translated, flag each machine-translated segment
in the XLIFF's own state attributes (so a CAT tool lists it for review), copy the flagged
file to the staging bucket, record the pair's counts and cost, notify SNS. A file with
segments missing is not staged; the workflow resubmits it once and, if it comes back
incomplete again, parks at :meth:`PostProcessor.verify_pair`.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.contracts import AWS_NOT_FOUND
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.models.translation import TranslationPair
from activities.translation.contracts import (
    NOTIFY_PAIR,
    POST_PROCESS,
    RECORD_PAIR,
    SEGMENTS_MISSING,
    VERIFY_PAIR,
    PairNotice,
    PairRecord,
    PairRecorded,
    PostProcessed,
    PostProcessInput,
    ProjectRequest,
    VerifyInput,
    pair_name,
    project_id,
    project_workflow_id,
)
from activities.translation.costs import cost_of, price
from activities.translation.keys import ProjectKeys
from activities.translation.xliff import (
    UnsafeDocument,
    flag_machine_translated,
    merge_targets,
    missing_units,
    output_name,
    read_xliff,
)

XLIFF_CONTENT_TYPE = "application/x-xliff+xml"


class PostProcessor:
    """Verify, flag, stage, record and notify for one pair."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources, notifier: Notifier) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._notifier = notifier

    @activity.defn(name=POST_PROCESS.name)
    async def post_process(self, request: PostProcessInput) -> PostProcessed:
        """Stage every complete file of the job, flagged; report the incomplete ones."""
        project, plan = request.request, request.plan
        target = plan.target_language
        keys = ProjectKeys(project.customer, project.project)
        originals = keys.job_original(plan.source_language, target, request.round)
        output_bucket, _, output_prefix = request.job.output_uri.removeprefix("s3://").partition("/")
        segments = flagged = missing = incomplete_characters = 0
        incomplete: list[str] = []
        for name in request.files:
            activity.heartbeat(name)
            source = await self._aws.read_object(project.bucket, originals + name)
            source_document = await asyncio.to_thread(read_xliff, source)
            translated = await self._translated(source, output_bucket, output_prefix + output_name(name, target))
            absent = source_document.segments
            if translated is not None:
                absent = len(missing_units(source_document, await asyncio.to_thread(read_xliff, translated)))
            if absent:
                incomplete.append(name)
                missing += absent
                incomplete_characters += source_document.characters
                if translated is None or not request.stage_incomplete:
                    continue
            assert translated is not None
            marked = await asyncio.to_thread(flag_machine_translated, source, translated)
            await self._aws.call(
                "s3",
                "put_object",
                Bucket=project.staging_bucket,
                Key=keys.staged_key(target, name),
                Body=marked.data,
                ContentType=XLIFF_CONTENT_TYPE,
            )
            segments += marked.segments
            flagged += marked.flagged
        return PostProcessed(
            segments=segments,
            flagged=flagged,
            incomplete_files=incomplete,
            missing_segments=missing,
            incomplete_characters=incomplete_characters,
        )

    async def _translated(self, source: bytes, bucket: str, key: str) -> bytes | None:
        """The customer's document with Translate's targets in it; None when nothing usable came back."""
        output = await self._read_optional(bucket, key)
        if output is None:
            return None
        try:
            return await asyncio.to_thread(merge_targets, source, output)
        except UnsafeDocument:
            return None  # unreadable output: as if nothing came back

    async def _read_optional(self, bucket: str, key: str) -> bytes | None:
        try:
            return await self._aws.read_object(bucket, key)
        except ApplicationError as error:
            if error.type == AWS_NOT_FOUND:
                return None
            raise

    @activity.defn(name=VERIFY_PAIR.name)
    async def verify_pair(self, request: VerifyInput) -> PostProcessed:
        """Every file of the pair staged with every segment translated, or ``TranslationSegmentsMissing``.

        Run after the resubmission; an operator's retry runs it again (after a translator
        completed the staged files by hand, say), a skip accepts the pair as it is.
        """
        project, plan = request.request, request.plan
        keys = ProjectKeys(project.customer, project.project)
        originals = keys.job_original(plan.source_language, plan.target_language, 0)
        segments = 0
        gaps: list[str] = []
        for name in plan.files:
            staged = await self._read_optional(project.staging_bucket, keys.staged_key(plan.target_language, name))
            source = await asyncio.to_thread(read_xliff, await self._aws.read_object(project.bucket, originals + name))
            if staged is None:
                gaps.append(f"{name}: {source.segments} segments untranslated")
                continue
            missing = missing_units(source, await asyncio.to_thread(read_xliff, staged))
            if missing:
                gaps.append(f"{name}: units {', '.join(missing[:10])} untranslated")
            segments += source.segments
        if gaps:
            said = f" (Translate: {'; '.join(request.document_errors[:3])})" if request.document_errors else ""
            raise ApplicationError(
                f"{pair_name(plan.source_language, plan.target_language)} still has untranslated segments after "
                f"a resubmission: {'; '.join(gaps[:5])}{said}",
                type=SEGMENTS_MISSING,
                non_retryable=True,
            )
        return PostProcessed(segments=segments, flagged=0, incomplete_files=[], missing_segments=0)

    @activity.defn(name=RECORD_PAIR.name)
    async def record_pair(self, record: PairRecord) -> PairRecorded:
        """Upsert the pair's row; once staged, its characters' cost at the project's price."""
        project, plan = record.request, record.plan
        unit_price = price(project.pricing.custom if record.custom else project.pricing.standard)
        billed = record.billed_characters or plan.characters
        cost = cost_of(billed, unit_price) if record.state == "STAGED" else Decimal("0.00")
        values: dict[str, Any] = {
            "billed_characters": billed if record.state == "STAGED" else None,
            "state": record.state,
            "files": len(plan.files),
            "segments": record.segments or plan.segments,
            "characters": plan.characters,
            "flagged": record.flagged,
            "missing": record.missing,
            "jobs": ",".join(record.jobs) or None,
            "price_per_million": unit_price,
            "cost_usd": cost if record.state == "STAGED" else None,
            "reason": record.reason,
        }
        async with self._sessions.begin() as session:
            await session.execute(
                insert(TranslationPair)
                .values(
                    project_id=project_id(project.customer, project.project),
                    source_language=plan.source_language,
                    target_language=plan.target_language,
                    **values,
                )
                .on_conflict_do_update(
                    index_elements=[
                        TranslationPair.project_id,
                        TranslationPair.source_language,
                        TranslationPair.target_language,
                    ],
                    set_=values,
                )
            )
        return PairRecorded(cost=str(cost))

    @activity.defn(name=NOTIFY_PAIR.name)
    async def notify_pair(self, notice: PairNotice) -> None:
        """SNS (once per pair): the pair is translated, flagged and staged for review."""
        project, result = notice.request, notice.result
        pair = pair_name(result.source_language, result.target_language)
        await self._notifier.publish_once(
            f"{project_workflow_id(project.customer, project.project)}:{pair}:staged",
            self._resources.translation_notifications_topic,
            f"Translation {project.customer}/{project.project} {pair} staged"[:100],
            json.dumps(
                {
                    "event": "translation.pair_staged",
                    "customer": project.customer,
                    "project": project.project,
                    "pair": pair,
                    "segments": result.segments,
                    "flagged": result.flagged,
                    "characters": result.characters,
                    "billed_characters": result.billed_characters,
                    "cost_usd": result.cost,
                    "staging": f"s3://{project.staging_bucket}/{_staging(project, result.target_language)}",
                }
            ),
        )


def _staging(project: ProjectRequest, target: str) -> str:
    return ProjectKeys(project.customer, project.project).staged_prefix(target)
