"""The AWS emulator keeps its state across a clean stop, a SIGKILL, and a crash in mid-compaction."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from worker.devstack.aws import aws_state_dir, moto_process
from worker.devstack.processes import ManagedProcess, free_port

BINARY = bytes(range(256)) * 4


class Emulator:
    """A persistent emulator on one port and state dir, restartable."""

    def __init__(self, state_dir: Path, *extra_args: str) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.process: ManagedProcess | None = None

    def start(self) -> Emulator:
        self.process = moto_process(self.port, self.state_dir)
        self.process.args += self.extra_args
        self.process.start().wait_for_port(self.port)
        return self

    def end(self, how: str) -> None:
        assert self.process is not None and self.process.process is not None
        if how == "sigkill":
            os.kill(self.process.process.pid, signal.SIGKILL)
            self.process.process.wait(10)
        else:
            self.process.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1")

    def writes_replayed(self) -> list[int]:
        log = (self.state_dir / "logs" / "moto.log").read_text()
        return [int(n) for n in re.findall(r"\((\d+) writes replayed\)", log)]


@pytest.fixture
def emulator(tmp_path: Path) -> Any:
    running = Emulator(tmp_path).start()
    yield running
    if running.process is not None:
        running.process.stop()


def queue_url(sqs: Any, name: str) -> str:
    url: str = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return url


def bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(message["Body"] for message in messages)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_items_objects_topics_and_messages_survive_a_restart(emulator: Emulator, how: str) -> None:
    s3, dynamodb, sqs, sns = (emulator.client(name) for name in ("s3", "dynamodb", "sqs", "sns"))
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="empty", Body=b"")
    s3.put_object(Bucket="kept-bucket", Key="binary", Body=BINARY)
    dynamodb.create_table(
        TableName="kept",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="kept", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    url = sqs.create_queue(QueueName="kept-queue", Attributes={"VisibilityTimeout": "8"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="kept-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    for body in ("deleted", "in-flight"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = {m["Body"]: m for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received["deleted"]["ReceiptHandle"])
    sns.publish(TopicArn=topic, Message="published")  # delivered once, never again by a replay

    emulator.end(how)
    emulator.start()

    assert s3.get_object(Bucket="kept-bucket", Key="empty")["Body"].read() == b""
    assert s3.get_object(Bucket="kept-bucket", Key="binary")["Body"].read() == BINARY
    assert dynamodb.get_item(TableName="kept", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [arn]
    assert bodies(sqs, url) == ["published"]  # "in-flight" is still invisible
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=12)["Messages"]  # its 8 s run out first
    assert [m["Body"] for m in again] == ["in-flight"]


def test_a_restart_replays_at_most_one_compaction_interval(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path, "--compact-every", "200").start()
    dynamodb = emulator.client("dynamodb")
    dynamodb.create_table(
        TableName="many",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    writes = 700
    for n in range(writes):
        dynamodb.put_item(TableName="many", Item={"id": {"S": f"i-{n}"}})
    time.sleep(1.5)  # compaction runs in the background, checked every 0.5 s

    emulator.end("sigkill")
    emulator.start()
    try:
        items = dynamodb.describe_table(TableName="many")["Table"]["ItemCount"]
    finally:
        emulator.end("sigterm")

    assert items == writes
    assert emulator.writes_replayed()[-1] < 200


def test_a_long_poll_gets_a_message_sent_while_it_waits(emulator: Emulator) -> None:
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName="polled")["QueueUrl"]
    sender = subprocess.Popen(
        [sys.executable, "-c", _SEND_LATER.format(port=emulator.port, url=url)], env={**os.environ}
    )
    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    waited = time.monotonic() - started
    sender.wait(10)

    assert [m["Body"] for m in messages] == ["late"]
    assert waited < 5


_SEND_LATER = """
import time, boto3
time.sleep(1)
boto3.client("sqs", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1").send_message(
    QueueUrl="{url}", MessageBody="late")
"""

_CRASH_IN_COMPACTION = textwrap.dedent(
    """
    import os, sys, threading, boto3, waitress
    from pathlib import Path
    from worker.devstack.aws_persistence import PersistentState
    from worker.devstack.aws_server import moto_app

    state = PersistentState(moto_app(), Path(sys.argv[1]))
    state.restore()
    server = waitress.create_server(state, host="127.0.0.1", port=int(sys.argv[2]))
    threading.Thread(target=server.run, daemon=True).start()
    dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{sys.argv[2]}", region_name="us-east-1")
    dynamodb.create_table(TableName="counted", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    for _ in range(5):
        dynamodb.update_item(TableName="counted", Key={"id": {"S": "c"}}, UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}})
    state._delete_segments_through = lambda last: os._exit(9)  # dies after the snapshot's rename
    state.compact()
    """
)


def test_a_crash_between_snapshot_and_segment_deletion_replays_nothing_twice(tmp_path: Path) -> None:
    port = free_port()
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASH_IN_COMPACTION, str(aws_state_dir(tmp_path)), str(port)], timeout=60
    )
    assert crashed.returncode == 9
    assert len(list(aws_state_dir(tmp_path).glob("journal-*.jsonl"))) >= 2  # the included segment is still there

    emulator = Emulator(tmp_path)
    emulator.port = port
    emulator.start()
    try:
        item = emulator.client("dynamodb").get_item(TableName="counted", Key={"id": {"S": "c"}})["Item"]
    finally:
        emulator.end("sigterm")

    assert item["n"] == {"N": "5"}


def test_a_replayed_upload_does_not_notify_its_queue_again(emulator: Emulator) -> None:
    s3, sqs = emulator.client("s3"), emulator.client("sqs")
    url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="notifying")
    s3.put_bucket_notification_configuration(
        Bucket="notifying",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    s3.put_object(Bucket="notifying", Key="once.xml", Body=b"<a/>")
    events = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        events += batch
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)]
        )
    assert any("once.xml" in m["Body"] for m in events)

    emulator.end("sigkill")  # the upload is in the journal, not yet in a snapshot
    emulator.start()

    assert emulator.writes_replayed()[-1] >= 1
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
