"""Comprehend's entities over one analysed document's text (the article's enrichment step).

``DetectEntities`` takes at most 100 KB of UTF-8 per call, so the text is cut at line
boundaries into chunks under that size (a single longer line is cut at a character
boundary) and each entity's offsets are moved back into the whole text. The result is
written beside the analysis as ``entities.json`` (``{"Entities": [{Type, Text, Score,
BeginOffset, EndOffset}]}``, offsets in characters of text.txt).
"""

from __future__ import annotations

import json
from typing import Any

from temporalio import activity

from activities.common.aws import AwsClients
from activities.common.resources import Resources
from activities.documents.contracts import DETECT_ENTITIES, EntitiesOutput, EntitiesRequest

MAX_CHUNK_BYTES = 99_000
"""Under DetectEntities' 100 KB (100,000 bytes of UTF-8) per call."""
LANGUAGE = "en"


def chunks(text: str, limit: int = MAX_CHUNK_BYTES) -> list[tuple[int, str]]:
    """``(character offset, chunk)`` pieces of ``text`` each under ``limit`` UTF-8 bytes, cut at
    line boundaries where a line fits (a longer line is cut where the limit falls)."""
    pieces: list[tuple[int, str]] = []
    start = 0
    current: list[str] = []
    size = 0
    offset = 0
    for line in text.splitlines(keepends=True):
        encoded = len(line.encode())
        if size + encoded > limit and current:
            pieces.append((start, "".join(current)))
            start, current, size = offset, [], 0
        while encoded > limit:
            cut = _cut(line, limit)
            pieces.append((offset, line[:cut]))
            offset += cut
            line = line[cut:]
            encoded = len(line.encode())
            start = offset
        current.append(line)
        size += encoded
        offset += len(line)
    if current and "".join(current).strip():
        pieces.append((start, "".join(current)))
    return [(at, piece) for at, piece in pieces if piece.strip()]


def _cut(line: str, limit: int) -> int:
    """The longest prefix of ``line`` (in characters) within ``limit`` UTF-8 bytes."""
    low, high = 0, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if len(line[:middle].encode()) <= limit:
            low = middle
        else:
            high = middle - 1
    return max(low, 1)


class EntityDetection:
    """DETECT_ENTITIES."""

    def __init__(self, aws: AwsClients, resources: Resources) -> None:
        self._aws = aws
        self._resources = resources

    @activity.defn(name=DETECT_ENTITIES.name)
    async def detect_entities(self, request: EntitiesRequest) -> EntitiesOutput:
        """Entities of the staged text.txt, written to entities.json beside it."""
        bucket = self._resources.documents_bucket
        text = (await self._aws.read_object(bucket, request.prefix + "text.txt")).decode()
        entities: list[dict[str, Any]] = []
        for at, piece in chunks(text):
            activity.heartbeat(at)
            found = await self._aws.call("comprehend", "detect_entities", Text=piece, LanguageCode=LANGUAGE)
            for entity in found.get("Entities", []):
                entities.append(
                    {
                        "Type": str(entity.get("Type", "OTHER")),
                        "Text": str(entity.get("Text", "")),
                        "Score": float(entity.get("Score", 0.0)),
                        "BeginOffset": at + int(entity.get("BeginOffset", 0)),
                        "EndOffset": at + int(entity.get("EndOffset", 0)),
                    }
                )
        await self._aws.call(
            "s3",
            "put_object",
            Bucket=bucket,
            Key=request.prefix + "entities.json",
            Body=json.dumps({"Entities": entities}, indent=1).encode(),
            ContentType="application/json",
        )
        return EntitiesOutput(entities=len(entities))
