"""The streaming transaction-file parser: the article's sample, hostile files, and a very large file."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.b2b.xml_file import FileRejected, ParsedRecord, TransactionFileParser
from tests.support.b2b import note, pieces, transactions_xml, write_large_file

SECRET = "s3cr3t-db-password-do-not-leak"


def parse(data: bytes | Iterator[bytes], piece: int = 4096) -> list[ParsedRecord]:
    parser = TransactionFileParser()
    records: list[ParsedRecord] = []
    chunks = (data[i : i + piece] for i in range(0, len(data), piece)) if isinstance(data, bytes) else data
    for chunk in chunks:
        records += parser.feed(chunk)
    return records + parser.close()


def rejection(data: bytes) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        parse(data)
    return caught.value


def test_the_article_sample_gives_eleven_valid_records_in_order(samples_dir: Path) -> None:
    records = parse((samples_dir / "transactions.xml").read_bytes(), piece=7)
    assert [r.transaction_id for r in records] == [str(i) for i in range(1, 12)]
    assert all(r.problem is None for r in records)
    assert records[0].notes == "Transaction made between user 57 and user 732."


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE Transactions [{"".join(entities)}]>\n'
        '<Transactions><Transaction TransactionID="1"><Notes>&lol9;</Notes></Transaction></Transactions>'
    ).encode()


def external_entity(secret_file: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE Transactions [<!ENTITY xxe SYSTEM "file://{secret_file}">]>\n'
        '<Transactions><Transaction TransactionID="1"><Notes>&xxe;</Notes></Transaction></Transactions>'
    ).encode()


EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE Transactions SYSTEM "http://127.0.0.1:9/evil.dtd">\n<Transactions/>'


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("billion laughs", "dtd"),
        ("external entity", "dtd"),
        ("external dtd", "dtd"),
        ("truncated", "not-well-formed"),
        ("latin-1 bytes declared UTF-8", "bad-encoding"),
        ("undeclarable encoding", "bad-encoding"),
        ("wrong root", "wrong-root"),
        ("endless text", "record-too-large"),
        ("empty", "empty"),
    ],
)
def test_hostile_files_are_rejected_whole_fast_with_bounded_memory_and_no_leak(
    name: str, code: str, samples_dir: Path, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    sample = (samples_dir / "transactions.xml").read_bytes()
    files = {
        "billion laughs": billion_laughs(),
        "external entity": external_entity(secret_file),
        "external dtd": EXTERNAL_DTD,
        "truncated": sample[: len(sample) // 2],
        "latin-1 bytes declared UTF-8": transactions_xml([("1", "Caf\u00e9 between users")]).decode().encode("latin-1"),
        "undeclarable encoding": b'<?xml version="1.0" encoding="EBCDIC-CP-US"?><Transactions/>',
        "wrong root": b"<Orders><Transaction TransactionID='1'/></Orders>",
        "endless text": b"<Transactions><Transaction TransactionID='1'><Notes>" + b"A" * (8 << 20),
        "empty": b"",
    }
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(FileRejected) as caught:
            parse(files[name], piece=64 * 1024)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == code, caught.value.message
    assert elapsed < 2.0
    assert peak < 16 * 1024 * 1024, peak  # the 8 MiB text is abandoned after 1 MiB
    assert SECRET not in caught.value.message
    assert str(secret_file) not in caught.value.message


def test_invalid_records_are_reported_one_by_one_and_the_rest_proceed() -> None:
    data = transactions_xml(
        [
            ("1", note(1, 2)),
            (None, note(3, 4)),  # missing TransactionID
            ("3", None),  # missing Notes
            ("1", note(5, 6)),  # duplicate of the first
            ("bad id with spaces", note(7, 8)),
            ("6", note(9, 10)),
        ]
    )
    records = parse(data, piece=16)
    assert [(r.index, r.transaction_id, r.problem) for r in records] == [
        (0, "1", None),
        (1, None, "missing TransactionID"),
        (2, "3", "missing Notes"),
        (3, "1", "duplicate TransactionID (first at record 0)"),
        (4, "bad id with spaces", "TransactionID must be 1-64 letters, digits, '_', '.', ':' or '-'"),
        (5, "6", None),
    ]
    assert [r.duplicate for r in records] == [False, False, False, True, False, False]


def test_encodings_the_parser_decodes_itself_are_accepted() -> None:
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><Transactions><Transaction TransactionID="1">'
    latin += "<Notes>Transaction made between user 1 and user 2.</Notes></Transaction></Transactions>"
    assert [r.transaction_id for r in parse(latin.encode("latin-1"))] == ["1"]
    utf16 = transactions_xml([("7", note(1, 2))], declaration=False).decode().encode("utf-16")
    assert [r.transaction_id for r in parse(utf16)] == ["7"]


def test_a_300000_record_file_parses_with_flat_memory(tmp_path: Path) -> None:
    path = write_large_file(tmp_path / "large.xml", 300_000)
    parser = TransactionFileParser()
    valid = 0
    tracemalloc.start()
    try:
        for data in pieces(path):
            valid += sum(1 for r in parser.feed(data) if r.problem is None)
        valid += sum(1 for r in parser.close() if r.problem is None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert valid == 300_000
    assert path.stat().st_size > 25_000_000
    assert peak < 100 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
