"""Reading Amazon Transcribe's output document: the text, without the word-level metadata.

The document is the JSON a completed job writes (``jobName``, ``accountId``, ``status``,
``results.transcripts[].transcript``, ``results.items[]``...). Only the transcripts are
needed for translation, the way the article's ``PrepareTranscriptTest`` state selects
``results.transcripts[0].transcript``. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from typing import Any


class TranscriptMalformed(ValueError):
    """The document is not a Transcribe transcript; the message says what is missing."""


def transcript_text(document: bytes | str | dict[str, Any]) -> str:
    """The transcript's text (several channels' transcripts joined by a blank line)."""
    if not isinstance(document, dict):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as error:
            raise TranscriptMalformed(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise TranscriptMalformed("the document is not a JSON object")
    results = document.get("results")
    transcripts = results.get("transcripts") if isinstance(results, dict) else None
    if not isinstance(transcripts, list) or not transcripts:
        raise TranscriptMalformed("results.transcripts is missing or empty")
    texts = [entry.get("transcript") if isinstance(entry, dict) else None for entry in transcripts]
    if not all(isinstance(text, str) for text in texts):
        raise TranscriptMalformed("a results.transcripts entry has no transcript text")
    return "\n\n".join(str(text) for text in texts)
