"""Where a media job's objects live, and its workflow id: derived from the job id alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_MEDIA_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


def media_workflow_id(job_id: str) -> str:
    """The workflow id of a media job, also its Transcribe job name."""
    return f"media-{job_id}"


@dataclass(frozen=True)
class MediaKeys:
    """The job's objects in the processing bucket; every key is derived from the job id."""

    job_id: str

    @property
    def prefix(self) -> str:
        """Folder of everything the job writes."""
        return f"media-jobs/{self.job_id}/"

    def media(self, source_key: str) -> str:
        """The copied media, keeping a plain file extension so Transcribe can infer the format."""
        suffix = PurePosixPath(source_key).suffix.lower()
        return f"{self.prefix}media{suffix if _MEDIA_SUFFIX.match(suffix) else ''}"

    @property
    def transcribe_output(self) -> str:
        """Transcribe's output document (the article's ``transcribe.json``)."""
        return f"{self.prefix}transcribe.json"

    @property
    def transcript(self) -> str:
        """The transcript's plain text."""
        return f"{self.prefix}transcript.txt"

    def translation_parts(self, language: str) -> str:
        """Folder of one language's translated chunks (the translate step's checkpoints)."""
        return f"{self.prefix}translations/{language}/parts/"

    def translation_part(self, language: str, index: int, digest: str) -> str:
        """One translated chunk; the source chunk's digest makes a stale part unusable."""
        return f"{self.translation_parts(language)}{index:05d}-{digest}.txt"

    def translation_text(self, language: str) -> str:
        """One language's assembled translation."""
        return f"{self.prefix}translations/{language}.txt"

    def translation_segments(self, language: str) -> str:
        """One language's segments with their machine-translated flags (JSON)."""
        return f"{self.prefix}translations/{language}.segments.json"

    @property
    def manifest(self) -> str:
        """Summary of the finished job (JSON)."""
        return f"{self.prefix}result.json"
