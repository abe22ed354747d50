"""Preprocess (the article's step 2): read every file of a project, find its language pairs.

Every file is screened before a parser sees it (:mod:`activities.translation.xliff`): a
file that is hostile, malformed, of an unknown kind or in a language pair Amazon Translate
does not serve is copied to the quarantine prefix and recorded with the reason; the rest
of the project goes on. Nothing is deleted from the inbound folder.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.media.languages import TRANSLATE_LANGUAGES
from activities.models.translation import TranslationFile, TranslationPair, TranslationProject
from activities.translation.contracts import (
    INVALID_PROJECT,
    MEMORY_FOLDER,
    PREPROCESS,
    TERMINOLOGY_FOLDER,
    PairPlan,
    Preprocessed,
    PreprocessInput,
    ProjectRequest,
    QuarantinedFile,
    project_id,
    project_workflow_id,
    valid_customer,
    valid_project,
)
from activities.translation.costs import price
from activities.translation.glossary import Memory, Terminology, read_memory, read_terminology
from activities.translation.keys import ProjectKeys
from activities.translation.xliff import UnsafeDocument, XliffDocument, read_xliff

XLIFF_SUFFIXES = (".xlf", ".xliff", ".xlf2")
MAX_XLIFF_BYTES = 20 * 1024 * 1024
"""Amazon Translate's limit on one document of a batch job."""
MAX_TERMINOLOGY_BYTES = 10 * 1024 * 1024
"""Amazon Translate's limit on a custom terminology file."""
MAX_MEMORY_BYTES = 50 * 1024 * 1024


TRADITIONAL_CHINESE = {"zh-hant", "zh-tw", "zh-hk", "zh-mo", "zh-hant-tw", "zh-hant-hk"}
"""Document codes that mean Chinese in traditional script: Translate's ``zh-TW``, never ``zh``."""
_BY_LOWER = {code.lower(): code for code in TRANSLATE_LANGUAGES}


def translate_language(code: str) -> str | None:
    """The Amazon Translate code for a document's language, or None if Translate does not serve it.

    Case does not matter (XLIFF files say ``fr-ca`` as often as ``fr-CA``); a regional variant
    Translate knows by name keeps its region (``fr-CA``, ``pt-PT``, ``es-MX``), Chinese in
    traditional script is ``zh-TW``, and any other code falls back to its primary language
    (``en-US`` -> ``en``).
    """
    lower = code.strip().replace("_", "-").lower()
    if lower in TRADITIONAL_CHINESE:
        return "zh-TW"
    if lower in _BY_LOWER:
        return _BY_LOWER[lower]
    if lower in {"es-us", "es-419"}:
        return "es-MX"
    return _BY_LOWER.get(lower.split("-", 1)[0])


def kind_of(name: str) -> str | None:
    """``xliff``, ``terminology`` or ``memory`` by where a file sits and its extension; None if unknown."""
    lower = name.lower()
    if lower.startswith(TERMINOLOGY_FOLDER):
        return "terminology" if lower.endswith((".csv", ".tmx")) else None
    if lower.startswith(MEMORY_FOLDER):
        return "memory" if lower.endswith(".tmx") else None
    return "xliff" if lower.endswith(XLIFF_SUFFIXES) else None


@dataclass
class _Reading:
    """What preprocessing found, file by file."""

    documents: dict[str, XliffDocument]
    languages: dict[str, tuple[str, str]]
    terminology: dict[str, Terminology]
    memory: dict[str, Memory]
    quarantined: list[QuarantinedFile]


class Preprocessor:
    """The preprocess activity."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker) -> None:
        self._aws = aws
        self._sessions = sessions

    @activity.defn(name=PREPROCESS.name)
    async def preprocess(self, request: PreprocessInput) -> Preprocessed:
        """List the project's folder, read every file, quarantine the refused, plan the pairs."""
        project = request.request
        if not valid_customer(project.customer) or not valid_project(project.project):
            raise ApplicationError(
                f"customer {project.customer!r} / project {project.project!r} are not valid ids",
                type=INVALID_PROJECT,
                non_retryable=True,
            )
        keys = ProjectKeys(project.customer, project.project)
        listed = await self._list(project.bucket, keys.inbound)
        if len(listed) > project.max_files:
            raise ApplicationError(
                f"the project has {len(listed)} files, more than the {project.max_files} a project may have",
                type=INVALID_PROJECT,
                non_retryable=True,
            )
        if not listed:
            raise ApplicationError(
                f"s3://{project.bucket}/{keys.inbound} holds no files", type=INVALID_PROJECT, non_retryable=True
            )
        reading = _Reading({}, {}, {}, {}, [])
        for name, size in sorted(listed.items()):
            activity.heartbeat(name)
            reason = await self._read(project, keys, name, size, reading)
            if reason is not None:
                reading.quarantined.append(QuarantinedFile(name, reason))
                await self._aws.call(
                    "s3",
                    "copy_object",
                    Bucket=project.bucket,
                    Key=keys.quarantine_key(name),
                    CopySource={"Bucket": project.bucket, "Key": keys.inbound_key(name)},
                )
        pairs = _plan(reading)
        await self._save(project, keys, listed, reading, pairs)
        return Preprocessed(pairs=pairs, quarantined=reading.quarantined, files=len(listed))

    async def _list(self, bucket: str, prefix: str) -> dict[str, int]:
        """Every object under ``prefix``: relative name -> size (folder markers left out)."""
        found: dict[str, int] = {}
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = await self._aws.call("s3", "list_objects_v2", **params)
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(prefix) :]
                if name and not name.endswith("/"):
                    found[name] = int(item.get("Size", 0))
            if not page.get("IsTruncated"):
                return found
            params["ContinuationToken"] = page["NextContinuationToken"]

    async def _read(
        self, project: ProjectRequest, keys: ProjectKeys, name: str, size: int, reading: _Reading
    ) -> str | None:
        """Read one file into ``reading``; the reason it is refused, or None."""
        kind = kind_of(name)
        if kind is None:
            return "unsupported file (expected *.xlf / *.xliff, terminology/*.csv|*.tmx or memory/*.tmx)"
        limit = {"xliff": MAX_XLIFF_BYTES, "terminology": MAX_TERMINOLOGY_BYTES, "memory": MAX_MEMORY_BYTES}[kind]
        if size > limit:
            return f"{size} bytes is over the {limit}-byte limit of a {kind} file"
        data = await self._aws.read_object(project.bucket, keys.inbound_key(name))
        try:
            if kind == "terminology":
                reading.terminology[name] = await asyncio.to_thread(read_terminology, data, name, max_bytes=limit)
                return None
            if kind == "memory":
                reading.memory[name] = await asyncio.to_thread(read_memory, data, name, max_bytes=limit)
                return None
            document = await asyncio.to_thread(read_xliff, data, max_bytes=limit)
        except UnsafeDocument as refused:
            return refused.reason
        source = translate_language(document.source_language)
        target = translate_language(document.target_language)
        if source is None or target is None or source == target:
            return (
                f"language pair {document.source_language} -> {document.target_language} "
                "is not one Amazon Translate serves"
            )
        reading.documents[name] = document
        reading.languages[name] = (source, target)
        return None

    async def _save(
        self,
        project: ProjectRequest,
        keys: ProjectKeys,
        listed: dict[str, int],
        reading: _Reading,
        pairs: list[PairPlan],
    ) -> None:
        pid = project_id(project.customer, project.project)
        values: dict[str, Any] = {
            "customer": project.customer,
            "project": project.project,
            "workflow_id": project_workflow_id(project.customer, project.project),
            "owner": project.owner,
            "status": "TRANSLATING" if pairs else "REFUSED",
            "files": len(listed),
            "quarantined": len(reading.quarantined),
            "characters": sum(pair.characters for pair in pairs),
            "price_standard": price(project.pricing.standard),
            "price_custom": price(project.pricing.custom),
            "reason": None if pairs else "every file was refused into quarantine",
        }
        refused = {q.name: q.reason for q in reading.quarantined}
        async with self._sessions.begin() as session:
            await session.execute(
                insert(TranslationProject)
                .values(project_id=pid, **values)
                .on_conflict_do_update(index_elements=[TranslationProject.project_id], set_=values)
            )
            for name in sorted(listed):
                document = reading.documents.get(name)
                languages = reading.languages.get(name, (None, None))
                row: dict[str, Any] = {
                    "kind": kind_of(name) or "unknown",
                    "status": "QUARANTINED" if name in refused else "ACCEPTED",
                    "reason": refused.get(name),
                    "source_language": languages[0],
                    "target_language": languages[1],
                    "segments": document.segments if document else 0,
                    "characters": document.characters if document else 0,
                    "quarantine_key": keys.quarantine_key(name) if name in refused else None,
                }
                await session.execute(
                    insert(TranslationFile)
                    .values(project_id=pid, name=name, **row)
                    .on_conflict_do_update(index_elements=[TranslationFile.project_id, TranslationFile.name], set_=row)
                )
            for pair in pairs:
                counts: dict[str, Any] = {
                    "files": len(pair.files),
                    "segments": pair.segments,
                    "characters": pair.characters,
                }
                await session.execute(
                    insert(TranslationPair)
                    .values(
                        project_id=pid,
                        source_language=pair.source_language,
                        target_language=pair.target_language,
                        state="PLANNED",
                        price_per_million=Decimal(project.pricing.custom if pair.memory else project.pricing.standard),
                        **counts,
                    )
                    .on_conflict_do_update(
                        index_elements=[
                            TranslationPair.project_id,
                            TranslationPair.source_language,
                            TranslationPair.target_language,
                        ],
                        set_=counts,
                    )
                )


def _plan(reading: _Reading) -> list[PairPlan]:
    """One plan per language pair, with the glossaries that cover it."""
    by_pair: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, languages in reading.languages.items():
        by_pair[languages].append(name)
    plans = []
    for (source, target), names in sorted(by_pair.items()):
        names.sort()
        terminology = [
            name
            for name, glossary in sorted(reading.terminology.items())
            if translate_language(glossary.languages[0]) == source
            and target in {translate_language(code) for code in glossary.languages[1:]}
        ]
        memory = [
            name
            for name, tm in sorted(reading.memory.items())
            if translate_language(tm.source_language) == source
            and target in {translate_language(code) for code in tm.target_languages}
        ]
        plans.append(
            PairPlan(
                source_language=source,
                target_language=target,
                files=names,
                segments=sum(reading.documents[n].segments for n in names),
                characters=sum(reading.documents[n].characters for n in names),
                terminology=terminology,
                memory=memory,
            )
        )
    return plans
