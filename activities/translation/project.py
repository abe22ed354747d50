"""A project's own records and its delivery (the article's steps 7 to 9 and its storage classes).

Delivery copies every staged file to ``translation-outbound/<customer>/<project>/<target>/``
and makes sure the customer has a lifecycle rule that moves its delivered projects (and
their staged copies) to a cheaper storage class after the configured number of days. S3
keeps one lifecycle configuration per bucket, so the rule is written read-modify-write
under a Postgres advisory lock: two projects delivering at once cannot drop each other's
customer rule.
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients, aws_error_code
from activities.common.contracts import AWS_NOT_FOUND
from activities.common.db import SessionMaker
from activities.common.notify import Notifier
from activities.common.resources import Resources
from activities.models.translation import TranslationPair, TranslationProject
from activities.translation.contracts import (
    DELIVER,
    SET_PROJECT_STATUS,
    Delivered,
    DeliverInput,
    ProjectRequest,
    ProjectStatusInput,
    ProjectTotals,
    project_id,
    project_workflow_id,
)
from activities.translation.costs import price
from activities.translation.jobs import glossary_name
from activities.translation.keys import ProjectKeys

LIFECYCLE_LOCK = zlib.crc32(b"stepwise:translation:lifecycle")


def lifecycle_rule_id(customer: str) -> str:
    """The id of a customer's rule (one per customer and bucket)."""
    return f"stepwise-translation-{customer}"


class ProjectRecords:
    """The project row, delivery and the customer's storage-class rule."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources, notifier: Notifier) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._notifier = notifier

    @activity.defn(name=SET_PROJECT_STATUS.name)
    async def set_project_status(self, change: ProjectStatusInput) -> ProjectTotals:
        """Set the project's status (and review outcome); total its pairs' characters and cost."""
        project = change.request
        pid = project_id(project.customer, project.project)
        async with self._sessions.begin() as session:
            totals = (
                await session.execute(
                    select(
                        func.coalesce(func.sum(TranslationPair.characters), 0),
                        func.coalesce(func.sum(TranslationPair.cost_usd), 0),
                    ).where(TranslationPair.project_id == pid)
                )
            ).one()
            characters, cost = int(totals[0]), Decimal(totals[1] or 0).quantize(Decimal("0.01"))
            values: dict[str, Any] = {"status": change.status, "characters": characters, "cost_usd": cost}
            if change.operator:
                values["reviewed_by"] = change.operator
                values["review_comment"] = change.comment or None
            if change.reason is not None:
                values["reason"] = change.reason
            if change.status == "DELIVERED":
                values["delivered_at"] = func.now()
            # An upsert: a project that failed before preprocessing wrote its row (no files, too
            # many) is recorded too.
            await session.execute(
                insert(TranslationProject)
                .values(
                    project_id=pid,
                    customer=project.customer,
                    project=project.project,
                    workflow_id=project_workflow_id(project.customer, project.project),
                    owner=project.owner,
                    price_standard=price(project.pricing.standard),
                    price_custom=price(project.pricing.custom),
                    **values,
                )
                .on_conflict_do_update(index_elements=[TranslationProject.project_id], set_=values)
            )
        return ProjectTotals(characters=characters, cost=str(cost))

    @activity.defn(name=DELIVER.name)
    async def deliver(self, request: DeliverInput) -> Delivered:
        """Copy staged files to the outbound prefix, apply the customer's lifecycle rule, notify."""
        project = request.request
        keys = ProjectKeys(project.customer, project.project)
        files = 0
        for pair in request.pairs:
            for name in pair.files:
                activity.heartbeat(name)
                staged = keys.staged_key(pair.target_language, name)
                try:
                    await self._aws.call(
                        "s3",
                        "copy_object",
                        Bucket=project.bucket,
                        Key=keys.outbound_key(pair.target_language, name),
                        CopySource={"Bucket": project.staging_bucket, "Key": staged},
                    )
                except ApplicationError as error:
                    if aws_error_code(error) not in {"NoSuchKey", "404"}:
                        raise
                    continue  # a file an operator accepted untranslated (verify skipped): nothing staged
                files += 1
        await self._apply_lifecycle(project)
        await self._remove_glossaries(request)
        await self._notifier.publish_once(
            f"{project_workflow_id(project.customer, project.project)}:delivered",
            self._resources.translation_notifications_topic,
            f"Translation {project.customer}/{project.project} delivered"[:100],
            json.dumps(
                {
                    "event": "translation.delivered",
                    "customer": project.customer,
                    "project": project.project,
                    "files": files,
                    "reviewed_by": request.reviewed_by,
                    "outbound": f"s3://{project.bucket}/{keys.outbound}",
                }
            ),
        )
        return Delivered(files=files, outbound_prefix=f"s3://{project.bucket}/{keys.outbound}")

    async def _remove_glossaries(self, request: DeliverInput) -> None:
        """The project's terminology and parallel data are not needed once delivered; Translate
        limits how many an account keeps, so they go (gone already: nothing to do)."""
        project = request.request
        for pair in request.pairs:
            name = glossary_name(project.customer, project.project, pair.source_language, pair.target_language)
            removals = [("delete_terminology", pair.terminology), ("delete_parallel_data", pair.memory)]
            for operation, used in removals:
                if not used:
                    continue
                try:
                    await self._aws.call("translate", operation, Name=name)
                except ApplicationError as error:
                    if error.type != AWS_NOT_FOUND:
                        raise

    async def _apply_lifecycle(self, project: ProjectRequest) -> None:
        keys = ProjectKeys(project.customer, project.project)
        rule_id = lifecycle_rule_id(project.customer)
        targets = ((project.bucket, keys.customer_outbound), (project.staging_bucket, f"{project.customer}/"))
        async with self._sessions.begin() as session:
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LIFECYCLE_LOCK})
            for bucket, prefix in targets:
                rules = [r for r in await self._rules(bucket) if r.get("ID") != rule_id]
                rules.append(
                    {
                        "ID": rule_id,
                        "Filter": {"Prefix": prefix},
                        "Status": "Enabled",
                        "Transitions": [
                            {"Days": project.archive_after_days, "StorageClass": project.archive_storage_class}
                        ],
                    }
                )
                await self._aws.call(
                    "s3",
                    "put_bucket_lifecycle_configuration",
                    Bucket=bucket,
                    LifecycleConfiguration={"Rules": rules},
                )

    async def _rules(self, bucket: str) -> list[dict[str, Any]]:
        try:
            found = await self._aws.call("s3", "get_bucket_lifecycle_configuration", Bucket=bucket)
        except ApplicationError as error:
            if aws_error_code(error) == "NoSuchLifecycleConfiguration":
                return []
            raise
        return list(found.get("Rules", []))
