"""Custom terminology (CSV, TMX) and translation memory (TMX) checks (pure, no services)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from activities.translation.glossary import Memory, Terminology, read_memory, read_terminology
from activities.translation.xliff import UnsafeDocument

DATA = Path(__file__).parents[2] / "data" / "translation"
DTD_REFUSED = "DTD/entity declarations are not allowed (XXE / entity expansion)"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def terminology_refusal(data: bytes, name: str, max_bytes: int = 10 * 1024 * 1024) -> str:
    with pytest.raises(UnsafeDocument) as caught:
        read_terminology(data, name, max_bytes=max_bytes)
    return caught.value.reason


def memory_refusal(data: bytes, name: str = "memory.tmx", max_bytes: int = 50 * 1024 * 1024) -> str:
    with pytest.raises(UnsafeDocument) as caught:
        read_memory(data, name, max_bytes=max_bytes)
    return caught.value.reason


def test_a_csv_terminology_gives_its_languages_and_terms() -> None:
    assert read_terminology(fixture("terminology.csv"), "glossary.csv") == Terminology("CSV", ("en", "fr", "de"), 3)


def test_a_csv_with_a_byte_order_mark_and_crlf_lines_is_read() -> None:
    data = b"\xef\xbb\xbfen,fr-CA\r\nworkflow,flux de travail\r\n\r\n"
    assert read_terminology(data, "GLOSSARY.CSV") == Terminology("CSV", ("en", "fr-CA"), 1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (fixture("terminology-bad-header.csv"), "header column 1 is not a language code"),
        (fixture("terminology-ragged.csv"), "line 3 has 1 column(s), the header 2"),
        (b"en\nworkflow\n", "the header needs a source and at least one target language code"),
        (b"en,fr,EN\nworkflow,flux,workflow\n", "a language appears twice in the header"),
        (b"en,fr\n", "no terms under the header"),
        (b"en,fr\n,flux de travail\n", "line 2 has an empty source term"),
        (b"en,fr\nworkflow,flux\n" + "é".encode("latin-1") + b",x\n", "not valid UTF-8 at byte 20"),
        (b"en,fr\nwork\x00flow,flux\n", "not a text file (NUL characters)"),
        (b"", "the file is empty"),
        (("en," + ",".join(f"l{chr(97 + i)}" for i in range(11)) + "\n").encode(), "more than 10 target languages"),
    ],
)
def test_bad_csv_terminology_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    assert terminology_refusal(data, "glossary.csv") == reason


def test_a_term_over_amazon_translates_limit_is_refused() -> None:
    fits = f"en,fr\n{'a' * 200},b\n".encode()
    assert read_terminology(fits, "glossary.csv").terms == 1
    # The limit is in UTF-8 bytes: 101 two-byte letters are 202 bytes.
    for term in ("a" * 201, "é" * 101):
        data = f"en,fr\nworkflow,flux\n{term},b\n".encode()
        assert terminology_refusal(data, "glossary.csv") == "line 3 has a term longer than 200 bytes"


def test_an_oversized_terminology_file_is_refused() -> None:
    data = fixture("terminology.csv")
    assert terminology_refusal(data, "glossary.csv", max_bytes=10) == (
        f"the file is {len(data)} bytes, over the 10-byte limit"
    )


def test_a_terminology_of_another_format_is_refused() -> None:
    assert terminology_refusal(b"en\tfr\n", "glossary.tsv") == "a terminology file must be .csv or .tmx"


def test_a_tmx_terminology_gives_the_languages_of_its_tuvs() -> None:
    assert read_terminology(fixture("terminology.tmx"), "glossary.tmx") == Terminology("TMX", ("en", "fr", "de"), 2)


def test_a_tmx_term_over_the_limit_is_refused() -> None:
    data = fixture("terminology.tmx").replace(b"<seg>Arbeitsablauf</seg>", b"<seg>" + b"x" * 201 + b"</seg>")
    assert terminology_refusal(data, "glossary.tmx") == "translation unit 1 has a term longer than 200 bytes"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("memory-xxe.tmx", DTD_REFUSED),
        ("memory-no-srclang.tmx", "the TMX header has no source language code (srclang)"),
        ("memory-no-translation.tmx", "translation unit 2 has no translation"),
        ("source-1.2.xlf", "not a TMX document (root <xliff>)"),
        ("billion-laughs.xlf", DTD_REFUSED),
        ("latin1-declared-utf8.xlf", "not valid UTF-8 at byte 618"),
    ],
)
def test_hostile_tmx_terminology_is_refused(name: str, reason: str) -> None:
    assert terminology_refusal(fixture(name), "glossary.tmx") == reason


def test_a_translation_memory_gives_its_source_and_target_languages() -> None:
    # Language codes compare without case ("EN-US" is the source) but keep their first spelling.
    assert read_memory(fixture("memory.tmx"), "memory/orders.tmx") == Memory("en-US", ("de-DE", "fr-FR"), 3)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("memory-xxe.tmx", DTD_REFUSED),
        ("memory-no-srclang.tmx", "the TMX header has no source language code (srclang)"),
        ("memory-no-translation.tmx", "translation unit 2 has no translation"),
        ("html-root.xlf", "not a TMX document (root <html>)"),
        ("empty.xlf", "the file is empty"),
        ("not-xml.xlf", "not well-formed XML (line 1, column 0)"),
    ],
)
def test_hostile_translation_memory_is_refused(name: str, reason: str) -> None:
    assert memory_refusal(fixture(name)) == reason


@pytest.mark.parametrize(
    ("transform", "reason"),
    [
        (
            lambda data: data.replace(b"<seg>Thank you.</seg>", b"<seg> </seg>"),
            "translation unit 2 has no en-US segment",
        ),
        (lambda data: data.replace(b'xml:lang="fr-FR"><seg>Merci', b"><seg>Merci"), "translation unit 2 has a <tuv>"),
        (
            lambda data: data.replace(b"<seg>Merci.</seg>", b"<seg>" + b"m" * 1001 + b"</seg>"),
            "translation unit 2 has a",
        ),
        (lambda data: data.split(b"<body>")[0] + b"<body/></tmx>", "no translation units"),
    ],
)
def test_translation_memory_units_are_checked(transform: Callable[[bytes], bytes], reason: str) -> None:
    assert memory_refusal(transform(fixture("memory.tmx"))).startswith(reason)


def test_an_oversized_or_misnamed_translation_memory_is_refused() -> None:
    assert memory_refusal(fixture("memory.tmx"), max_bytes=64).startswith("the file is ")
    assert memory_refusal(fixture("memory.tmx"), "memory.csv") == "a translation memory must be a .tmx file"
