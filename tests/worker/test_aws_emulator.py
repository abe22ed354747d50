"""The dev stack's AWS emulator: moto with item-level rollback of failed transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from moto import mock_aws

from worker.devstack.aws import aws_state_dir, moto_process
from worker.devstack.aws_server import list_services_once, roll_back_only_touched_items
from worker.devstack.processes import free_port


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    roll_back_only_touched_items()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for table, key in (("flights", "id"), ("reservations", "reservationId")):
            client.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        client.put_item(TableName="flights", Item={"id": {"S": "FL-1"}, "seatCapacity": {"N": "1"}})
        yield client


def take_seat(booking: str) -> list[dict[str, Any]]:
    return [
        {
            "Put": {
                "TableName": "reservations",
                "Item": {"reservationId": {"S": booking}, "status": {"S": "HELD"}},
                "ConditionExpression": "attribute_not_exists(reservationId)",
            }
        },
        {
            "Update": {
                "TableName": "flights",
                "Key": {"id": {"S": "FL-1"}},
                "UpdateExpression": "SET seatCapacity = seatCapacity - :one",
                "ConditionExpression": "seatCapacity > :zero",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
            }
        },
    ]


def capacity(dynamodb: Any) -> int:
    return int(dynamodb.get_item(TableName="flights", Key={"id": {"S": "FL-1"}})["Item"]["seatCapacity"]["N"])


def test_a_failed_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=take_seat("b-1"))
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        dynamodb.transact_write_items(TransactItems=take_seat("b-2"))  # the put succeeds, the update fails

    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in dynamodb.get_item(TableName="reservations", Key={"reservationId": {"S": "b-2"}})
    assert dynamodb.get_item(TableName="reservations", Key={"reservationId": {"S": "b-1"}})["Item"]["status"] == {
        "S": "HELD"
    }
    assert capacity(dynamodb) == 0


def test_an_item_changed_before_the_failing_operation_is_restored(dynamodb: Any) -> None:
    release_and_fail = [
        take_seat("b-1")[1],  # capacity 1 -> 0 ...
        {
            "ConditionCheck": {  # ... then a check that fails
                "TableName": "reservations",
                "Key": {"reservationId": {"S": "nobody"}},
                "ConditionExpression": "attribute_exists(reservationId)",
            }
        },
    ]
    with pytest.raises(botocore.exceptions.ClientError):
        dynamodb.transact_write_items(TransactItems=release_and_fail)

    assert capacity(dynamodb) == 1
    assert dynamodb.scan(TableName="reservations")["Count"] == 0


def test_the_transaction_no_longer_copies_tables() -> None:
    roll_back_only_touched_items()
    from moto.dynamodb import models

    table = object.__new__(models.Table)
    assert models.copy.deepcopy(table) is table
    assert models.copy.deepcopy({"a": [1]}) == {"a": [1]}


def test_the_services_are_listed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import backends

    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)  # undone after the test
    list_services_once()

    def no_disk(path: str) -> list[str]:
        raise AssertionError(f"listed {path} again")

    monkeypatch.setattr(backends.os, "listdir", no_disk)
    services = list(backends.list_of_moto_modules())
    assert "dynamodb" in services and "sns" in services


@pytest.mark.parametrize("persist", [True, False])
def test_the_emulator_writes_state_only_when_asked(tmp_path: Path, persist: bool) -> None:
    port = free_port()
    emulator = moto_process(port, tmp_path, persist=persist).start()
    try:
        emulator.wait_for_port(port)
        client = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
        client.create_queue(QueueName="kept-or-not")
    finally:
        emulator.stop()
    assert aws_state_dir(tmp_path).exists() == persist
    if persist:
        assert b"kept-or-not" in (aws_state_dir(tmp_path) / "sqs.pickle").read_bytes()


def test_an_empty_put_with_expect_100_continue_is_answered(tmp_path: Path) -> None:
    port = free_port()
    emulator = moto_process(port, tmp_path, persist=False).start()
    try:
        emulator.wait_for_port(port)
        config = botocore.config.Config(read_timeout=5, retries={"max_attempts": 1})
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", config=config)
        s3.create_bucket(Bucket="empty-puts")
        s3.put_object(Bucket="empty-puts", Key="empty.xml", Body=b"")  # botocore sends Expect: 100-continue
        s3.put_object(Bucket="empty-puts", Key="full.xml", Body=b"<a/>")
        sizes = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket="empty-puts")["Contents"]}
    finally:
        emulator.stop()
    assert sizes == {"empty.xml": 0, "full.xml": 4}
