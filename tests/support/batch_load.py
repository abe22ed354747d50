"""A B2B batch file as fault-test load, and the check that each of its transactions was stored once.

The file goes in through the real intake (an S3 upload whose event a worker picks up);
:func:`settled_batch` waits for the batch to finish and then reads Postgres (the batch
report, every transaction's row and status trail) and DynamoDB (one item per
transaction, none extra).
"""

from __future__ import annotations

from activities.b2b.split import batch_id_for
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.b2b import B2BBatch
from tests.support.b2b import finished_batch, note, put_inbound, trail, transactions_of, transactions_xml

STORED_TRAIL = ["RECEIVED", "FORMATTED", "ENRICHED", "STORED"]


def intake_env(resources: Resources, *, chunk_size: int = 250, max_in_flight: int = 50) -> dict[str, str]:
    """Worker settings that run the intake on ``resources``' own queue, with short long-polls."""
    return {
        "STEPWISE_AWS__NAME_PREFIX": resources.prefix,
        "STEPWISE_B2B__INTAKE_ENABLED": "true",
        "STEPWISE_B2B__INTAKE_WAIT_SECONDS": "1",
        "STEPWISE_B2B__CHUNK_SIZE": str(chunk_size),
        "STEPWISE_B2B__MAX_IN_FLIGHT": str(max_in_flight),
    }


async def drop_batch(aws: AwsClients, resources: Resources, partner: str, records: int) -> str:
    """Upload a file of ``records`` valid transactions to the partner's inbound folder; its batch id."""
    body = transactions_xml((f"T{i}", note(i % 997 + 1, i % 991 + 2)) for i in range(records))
    key, etag = await put_inbound(aws, resources, partner, f"load-{records}.xml", body)
    return batch_id_for(partner, key, etag)


async def settled_batch(
    aws: AwsClients,
    sessions: SessionMaker,
    resources: Resources,
    partner: str,
    batch_id: str,
    records: int,
    timeout: float,
) -> B2BBatch:
    """Wait for the batch; assert every transaction STORED exactly once in Postgres and DynamoDB."""
    batch = await finished_batch(sessions, batch_id, timeout=timeout)
    assert batch.status == "COMPLETED", f"batch {batch.status}: {batch.reason}"
    report = batch.report or {}
    counts = {name: report.get(name) for name in ("records", "accepted", "stored", "quarantined", "failed")}
    assert counts == {"records": records, "accepted": records, "stored": records, "quarantined": 0, "failed": 0}
    rows = await transactions_of(sessions, partner)
    assert set(rows) == {f"T{i}" for i in range(records)}
    wrong = {tid: trail(row) for tid, row in rows.items() if trail(row) != STORED_TRAIL}
    assert not wrong, f"{len(wrong)} transactions off the trail, e.g. {next(iter(wrong.items()))}"
    assert await dynamodb_count(aws, resources, partner) == records
    return batch


async def dynamodb_count(aws: AwsClients, resources: Resources, partner: str) -> int:
    """Items of the partner in the transactions table (scanned page by page)."""
    count, start = 0, None
    while True:
        page = await aws.call(
            "dynamodb",
            "scan",
            TableName=resources.b2b_transactions_table,
            FilterExpression="partnerId = :p",
            ExpressionAttributeValues={":p": {"S": partner}},
            Select="COUNT",
            **({"ExclusiveStartKey": start} if start else {}),
        )
        count += int(page["Count"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return count
