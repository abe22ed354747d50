"""Splitting transcripts into TranslateText requests: under the byte limit, whole sentences, in order."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from activities.media.text_chunks import TRANSLATE_TEXT_LIMIT_BYTES, chunk_text, split_sentences, utf8_size

LIMIT = TRANSLATE_TEXT_LIMIT_BYTES
MAX_TEXT_BYTES = 100_000

# Letters of 1, 2, 3 and 4 UTF-8 bytes, spaces, and a few sentence terminators inside words.
ALPHABET = "abcxyz éüñ ßøå 中文字 😀🎧 ,;-'"
ENDINGS = [". ", "! ", "? ", ".\n", "\n\n", "\u3002", "\u2026 ", '." ', ""]

words = st.text(alphabet=ALPHABET, min_size=1, max_size=120)
# Repetition makes some sentences far longer than the limit (up to ~190 KB of 4-byte characters).
sentences = st.builds(
    lambda body, times, end: body * times + end,
    words,
    st.one_of(st.integers(1, 8), st.integers(50, 400)),
    st.sampled_from(ENDINGS),
)


def _text_of_size(parts: list[str], size: int) -> str:
    """Cycle through the sentences until ``size`` bytes, cut on a character boundary."""
    if not parts:
        return ""
    text, i = [], 0
    total = 0
    while total < size:
        text.append(parts[i % len(parts)])
        total += len(parts[i % len(parts)].encode("utf-8"))
        i += 1
    return "".join(text).encode("utf-8")[:size].decode("utf-8", errors="ignore")


# Sizes spread evenly up to 100 KB, so large transcripts are as common as small ones.
texts = st.builds(
    _text_of_size,
    st.lists(sentences, min_size=1, max_size=30),
    st.one_of(st.integers(0, 12_000), st.integers(12_000, MAX_TEXT_BYTES)),
)


def _boundaries(pieces: list[str]) -> set[int]:
    """Character offsets where one piece ends and the next begins."""
    offsets, total = set(), 0
    for piece in pieces[:-1]:
        total += len(piece)
        offsets.add(total)
    return offsets


@settings(max_examples=60, deadline=None)
@given(texts)
@example(
    ("Transcribe \u4e2d\u6587 and Translate \U0001f3a7. " * 2500).encode()[:MAX_TEXT_BYTES].decode(errors="ignore")
)
def test_every_request_fits_and_the_text_is_preserved_in_order(text: str) -> None:
    chunks = chunk_text(text)
    assert "".join(chunks) == text
    assert all(0 < utf8_size(chunk) <= LIMIT for chunk in chunks)


@settings(max_examples=60, deadline=None)
@given(texts)
def test_a_sentence_is_split_only_when_it_alone_exceeds_the_limit(text: str) -> None:
    chunk_cuts = _boundaries(chunk_text(text))
    start = 0
    for sentence in split_sentences(text):
        end = start + len(sentence)
        inside = {cut for cut in chunk_cuts if start < cut < end}
        if utf8_size(sentence) <= LIMIT:
            assert not inside, f"a {utf8_size(sentence)}-byte sentence was split"
        start = end


@settings(max_examples=40, deadline=None)
@given(texts)
def test_sentences_join_back_to_the_text(text: str) -> None:
    assert "".join(split_sentences(text)) == text


def test_an_oversized_sentence_is_cut_at_whitespace_and_never_inside_a_character() -> None:
    sentence = ("\U0001f3a7" * 2499 + " ") * 3 + "end."  # 9,997-byte words, no terminator until the end
    chunks = chunk_text(sentence)
    assert "".join(chunks) == sentence
    assert all(utf8_size(chunk) <= LIMIT for chunk in chunks)
    assert all(chunk.endswith(" ") for chunk in chunks[:-1])


def test_a_sentence_with_no_whitespace_is_cut_on_character_boundaries() -> None:
    sentence = "\u4e2d" * 7000  # 21,000 bytes, three bytes a character
    chunks = chunk_text(sentence)
    assert [utf8_size(chunk) for chunk in chunks] == [9999, 9999, 1002]


def test_small_sentences_share_a_request_and_keep_their_spacing() -> None:
    text = "Hello there. How are you?\nFine, thanks! 42."
    assert split_sentences(text) == ["Hello there. ", "How are you?\n", "Fine, thanks! ", "42."]
    assert chunk_text(text) == [text]
    assert chunk_text("") == []
