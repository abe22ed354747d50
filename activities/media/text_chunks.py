"""Split text into TranslateText requests: whole sentences, each request under Translate's byte limit.

Amazon Translate rejects a ``TranslateText`` request whose text exceeds 10,000 UTF-8
bytes (not characters: one Chinese character is three bytes, an emoji four). We cut at
sentence boundaries so every request is a run of whole sentences; only a single
sentence longer than the limit is itself cut, at the last whitespace that fits, or at a
character boundary when it has none (never inside a multibyte character).

The pieces always concatenate back to the original text, whitespace included, so
translations can be reassembled in order. Pure functions, no I/O.
"""

from __future__ import annotations

import re

TRANSLATE_TEXT_LIMIT_BYTES = 10_000
"""Amazon Translate's maximum ``TranslateText`` request text, in UTF-8 bytes."""

# A sentence ends with terminal punctuation (plus closing quotes/brackets) followed by
# whitespace; CJK full stops need no whitespace; a line break always ends one.
_SENTENCE_END = re.compile(
    r"""[.!?\u2026]+["'\u201d\u2019)\]]*\s+|[\u3002\uff01\uff1f]+["'\u201d\u2019)\]]*\s*|\n\s*"""
)
_WHITESPACE = re.compile(r"\s")


def utf8_size(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each keeping its trailing whitespace; they join back to ``text``."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            _append_sentence(sentences, text[start : match.end()])
            start = match.end()
    if start < len(text):
        _append_sentence(sentences, text[start:])
    return sentences


def _append_sentence(sentences: list[str], sentence: str) -> None:
    # Whitespace alone is not a sentence: it joins the sentence before it (or, at the start, after it).
    if sentences and (not sentence.strip() or not sentences[-1].strip()):
        sentences[-1] += sentence
    else:
        sentences.append(sentence)


def chunk_text(text: str, limit: int = TRANSLATE_TEXT_LIMIT_BYTES) -> list[str]:
    """Consecutive runs of whole sentences, each at most ``limit`` UTF-8 bytes, in order.

    ``"".join(chunk_text(text)) == text`` always holds. A sentence is split only when
    it alone exceeds ``limit``.
    """
    if limit < 4:
        raise ValueError("limit must hold at least one UTF-8 character (4 bytes)")
    chunks: list[str] = []
    current: list[str] = []
    current_size = 0
    for sentence in split_sentences(text):
        size = utf8_size(sentence)
        if current and current_size + size > limit:
            chunks.append("".join(current))
            current, current_size = [], 0
        if size > limit:
            chunks.extend(_split_long_sentence(sentence, limit))
            continue
        current.append(sentence)
        current_size += size
    if current:
        chunks.append("".join(current))
    return chunks


def _split_long_sentence(sentence: str, limit: int) -> list[str]:
    pieces: list[str] = []
    start = 0
    while start < len(sentence):
        end = start + _chars_fitting(sentence[start:], limit)
        if end < len(sentence):
            end = _last_whitespace_cut(sentence, start, end)
        pieces.append(sentence[start:end])
        start = end
    return pieces


def _chars_fitting(text: str, limit: int) -> int:
    """How many leading characters of ``text`` fit in ``limit`` bytes."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return len(text)
    # Decoding a byte-truncated prefix drops a partial trailing character.
    return len(encoded[:limit].decode("utf-8", errors="ignore"))


def _last_whitespace_cut(text: str, start: int, end: int) -> int:
    """Cut after the last whitespace in ``text[start:end]``; ``end`` if there is none."""
    last = None
    for match in _WHITESPACE.finditer(text, start, end):
        last = match
    return last.end() if last is not None else end
