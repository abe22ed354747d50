"""Hostile and broken partner files through the whole pipeline: each ends quarantined with its
reason, nothing is lost, no transaction starts from a bad file, and no secret leaks anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.b2b.split import batch_id_for, batch_workflow_id, quarantine_prefix, report_key
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.b2b import B2BBatch, B2BQuarantine
from tests.activities.b2b.test_b2b_xml import EXTERNAL_DTD, SECRET, billion_laughs, external_entity
from tests.support.b2b import (
    b2b_worker,
    finished_batch,
    isolated_resources,
    new_partner,
    note,
    prefixed,
    put_inbound,
    trail,
    transactions_of,
    transactions_xml,
)
from worker.services.b2b import get_batch
from worker.settings import Settings


@pytest.fixture(scope="module")
def b2b_resources(aws_endpoint: str) -> Resources:
    return isolated_resources()


def hostile_files(samples_dir: Path, secret_file: Path) -> dict[str, tuple[bytes, str]]:
    """File name -> (content, expected reason code)."""
    sample = (samples_dir / "transactions.xml").read_bytes()
    return {
        "laughs.xml": (billion_laughs(), "dtd"),
        "xxe.xml": (external_entity(secret_file), "dtd"),
        "external-dtd.xml": (EXTERNAL_DTD, "dtd"),
        "truncated.xml": (sample[: len(sample) * 2 // 3], "not-well-formed"),
        "latin1.xml": (transactions_xml([("1", "Caf\u00e9 between users")]).decode().encode("latin-1"), "bad-encoding"),
        # Uploaded as botocore uploads every object (Expect: 100-continue), with nothing to send.
        "empty.xml": (b"", "empty"),
    }


async def test_hostile_files_are_quarantined_whole_and_leak_nothing(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    b2b_resources: Resources,
    sessions: SessionMaker,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    samples_dir: Path,
    tmp_path: Path,
) -> None:
    secret_file = tmp_path / "db-password.txt"
    secret_file.write_text(SECRET)
    partner = new_partner()
    files = hostile_files(samples_dir, secret_file)
    batches: dict[str, B2BBatch] = {}
    async with b2b_worker(
        dev_env.client, prefixed(settings, b2b_resources), sessions, b2b_resources, aws, partner_http
    ):
        for name, (body, _) in files.items():
            key, etag = await put_inbound(aws, b2b_resources, partner, name, body)
            batches[name] = await finished_batch(sessions, batch_id_for(partner, key, etag), timeout=30)

    outputs: list[str] = []
    for name, (body, code) in files.items():
        batch = batches[name]
        assert batch.status == "QUARANTINED", name
        assert batch.reason is not None and batch.reason.startswith(f"{code}: "), (name, batch.reason)
        kept = await aws.read_object(
            b2b_resources.b2b_bucket, f"{quarantine_prefix(partner, batch.batch_id)}file/{name}"
        )
        assert kept == body
        async with sessions() as session:
            row = await session.get(B2BQuarantine, f"file:{batch.batch_id}")
        assert row is not None and row.reason == batch.reason and row.scope == "file"
        work = await aws.call("s3", "list_objects_v2", Bucket=b2b_resources.b2b_bucket, Prefix=f"b2b-work/{partner}/")
        assert work.get("KeyCount", 0) == 0
        report = await aws.read_object(b2b_resources.b2b_bucket, report_key(partner, batch.batch_id))
        assert json.loads(report)["status"] == "QUARANTINED"
        history = await dev_env.client.get_workflow_handle(batch_workflow_id(partner, batch.batch_id)).fetch_history()
        view = await get_batch(sessions, partner, batch.batch_id)
        outputs += [report.decode(), history.to_json(), json.dumps(view, default=_plain), batch.reason]
    assert await transactions_of(sessions, partner) == {}  # no transaction started from a bad file
    for output in outputs:
        assert SECRET not in output
        assert str(secret_file) not in output or "xxe" in output  # the file names the path; never its content


async def test_invalid_records_are_quarantined_one_by_one_and_the_rest_are_stored(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    b2b_resources: Resources,
    sessions: SessionMaker,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
) -> None:
    partner = new_partner()
    body = transactions_xml(
        [
            ("A1", note(1, 2)),
            (None, note(3, 4)),
            ("A3", None),
            ("A1", note(5, 6)),
            ("A5", "paid in cash"),  # well-formed record, malformed note: quarantined by its transaction
            ("A6", note(7, 8)),
        ]
    )
    async with b2b_worker(
        dev_env.client, prefixed(settings, b2b_resources), sessions, b2b_resources, aws, partner_http
    ):
        key, etag = await put_inbound(aws, b2b_resources, partner, "mixed.xml", body)
        batch = await finished_batch(sessions, batch_id_for(partner, key, etag), timeout=60)

    assert batch.status == "COMPLETED"
    assert (batch.record_count, batch.accepted_count, batch.duplicate_count, batch.invalid_count) == (6, 3, 1, 2)
    assert batch.report is not None
    assert (batch.report["stored"], batch.report["quarantined"], batch.report["failed"]) == (2, 1, 0)
    rows = await transactions_of(sessions, partner)
    assert {tid: row.status for tid, row in rows.items()} == {"A1": "STORED", "A5": "QUARANTINED", "A6": "STORED"}
    assert rows["A1"].from_user_id == "1"  # the first A1 wins; the repeat is quarantined
    assert trail(rows["A5"]) == ["RECEIVED", "QUARANTINED"]
    async with sessions() as session:
        kept = (await session.scalars(select(B2BQuarantine).where(B2BQuarantine.batch_id == batch.batch_id))).all()
    reasons = {(q.record_index, q.transaction_id, q.scope): q.reason for q in kept}
    assert reasons[(1, None, "record")] == "missing TransactionID"
    assert reasons[(2, "A3", "record")] == "missing Notes"
    assert reasons[(3, "A1", "record")] == "duplicate TransactionID (first at record 0)"
    assert reasons[(None, "A5", "transaction")].startswith("format: ")
    group = await aws.read_object(
        b2b_resources.b2b_bucket, f"{quarantine_prefix(partner, batch.batch_id)}records-00000.jsonl"
    )
    assert [json.loads(line)["i"] for line in group.decode().splitlines()] == [1, 2, 3]
    assert json.loads(group.decode().splitlines()[2])["notes"] == note(5, 6)  # the rejected record is kept whole


def _plain(value: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else str(value)
