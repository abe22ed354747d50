"""The whole dev stack SIGKILLed under load restarts with its data, and every booking in flight completes.

`stepwise dev` runs on free ports with its own state dir; the AWS emulator takes a few
thousand requests (a scratch table written and read, a queue consumed in part, long polls
of an idle queue, bookings, the B2B intake's own long polls), bookings with slow payments
are in flight when the supervisor and every child are killed at once. The next
`stepwise dev` must be up within 60 s and finish them all: each booking confirmed,
charged once, one seat taken for it; the consumed message stays consumed.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.support.dev_stack import DevStackProcess, dev_env, ports_in_use
from worker.devstack.seed import DEV_OPERATOR_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.fault, pytest.mark.timeout(600)]

BOOKINGS = 30
SCRATCH_ITEMS = 1200  # written and read back: 2,400 requests, past one compaction
TERMINAL = {"CONFIRMED", "CANCELLED", "FAILED"}


def aws(stack: DevStackProcess, service: str) -> Any:
    endpoint = f"http://127.0.0.1:{stack.port('STEPWISE_DEV__AWS_PORT')}"
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def seats_left(stack: DevStackProcess, flight: str) -> int:
    item = aws(stack, "dynamodb").get_item(TableName="flights", Key={"id": {"S": flight}})["Item"]
    return int(item["seatCapacity"]["N"])


def load_the_emulator(stack: DevStackProcess, table: str) -> None:
    dynamodb = aws(stack, "dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def write_and_read(worker: int) -> None:
        client = aws(stack, "dynamodb")
        for n in range(worker, SCRATCH_ITEMS, 4):
            client.put_item(TableName=table, Item={"id": {"S": f"i-{n}"}})
            client.get_item(TableName=table, Key={"id": {"S": f"i-{n}"}})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write_and_read, range(4)))


def consume_one_of_two(stack: DevStackProcess, queue: str) -> str:
    """Send two messages, consume one; the other stays in flight (for 1 s). The queue's URL."""
    sqs = aws(stack, "sqs")
    url: str = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    for body in ("kept", "consumed"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    consumed = next(m for m in received if m["Body"] == "consumed")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=consumed["ReceiptHandle"])
    return url


def long_poll_an_empty_queue(stack: DevStackProcess, queue: str, polls: int = 12) -> None:
    """As consumers do all day: ``polls`` receives of 5 s each (in parallel, so 5 s of the test)."""
    url = aws(stack, "sqs").create_queue(QueueName=queue)["QueueUrl"]
    with ThreadPoolExecutor(polls) as pool:
        list(pool.map(lambda _: aws(stack, "sqs").receive_message(QueueUrl=url, WaitTimeSeconds=5), range(polls)))


def remaining_bodies(stack: DevStackProcess, url: str) -> list[str]:
    messages = aws(stack, "sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    return sorted(m["Body"] for m in messages.get("Messages", []))


def submit_bookings(api: httpx.Client, run: str) -> list[str]:
    ids = []
    for n in range(BOOKINGS):
        body = {
            "request_id": f"restart-{run}-{n}",
            "customer_id": f"c-{n}",
            "flight_id": "FL-100",
            "amount": "80.00",
            "currency": "EUR",
            "payment_token": "tok_slow",  # 3 s at the provider: in flight when the stack dies
        }
        accepted = api.post("/bookings", json=body)
        assert accepted.status_code == 202, accepted.text
        ids.append(accepted.json()["booking_id"])
    return ids


def wait_terminal(api: httpx.Client, ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        for booking_id in ids:
            if statuses.get(booking_id) not in TERMINAL:
                try:
                    answer = api.get(f"/bookings/{booking_id}")
                except httpx.TransportError as error:
                    # A poll that fails in transit is asked again; what counts is the deadline.
                    # (Once, on a 2-core CI run, a poll read bytes that were not HTTP.)
                    statuses.setdefault(booking_id, f"unanswered: {error}")
                    continue
                if answer.status_code == 200:
                    statuses[booking_id] = answer.json()["status"]
        if all(statuses.get(booking_id) in TERMINAL for booking_id in ids):
            return statuses
        time.sleep(1)
    raise AssertionError(f"not terminal after {timeout:.0f}s: {statuses}")


def test_every_booking_in_flight_completes_after_the_whole_stack_is_killed(tmp_path: Path) -> None:
    started = time.monotonic()
    env = dev_env(tmp_path / "state")
    stack = DevStackProcess.start(env, tmp_path / "console.log")
    api_url = f"http://127.0.0.1:{env['STEPWISE_API__PORT']}"
    headers = {"Authorization": f"Bearer {DEV_OPERATOR_TOKEN}"}
    run = uuid.uuid4().hex[:8]
    try:
        stack.wait_until_running()
        seats_before = seats_left(stack, "FL-100")
        load_the_emulator(stack, f"scratch-{run}")
        queue_url = consume_one_of_two(stack, f"scratch-{run}")
        long_poll_an_empty_queue(stack, f"idle-{run}")
        with httpx.Client(base_url=api_url, headers=headers, timeout=30) as api:
            ids = submit_bookings(api, run)
            time.sleep(1)  # the first payments are waiting at the provider
            in_flight = [b for b in ids if api.get(f"/bookings/{b}").json()["status"] not in TERMINAL]

        stack.kill_everything()
        killed = time.monotonic()
        assert ports_in_use(stack.ports) == []
        stack = DevStackProcess.start(env, tmp_path / "console.log")
        stack.wait_until_running(timeout=60)
        restarted_in = time.monotonic() - killed

        with httpx.Client(base_url=api_url, headers=headers, timeout=30) as api:
            statuses = wait_terminal(api, ids, timeout=180)
        emulators = f"http://127.0.0.1:{env['STEPWISE_DEV__EMULATOR_PORT']}"
        charges = httpx.get(f"{emulators}/payments/v1/charges", timeout=10).json()
        seats_after = seats_left(stack, "FL-100")
        scratch = aws(stack, "dynamodb").describe_table(TableName=f"scratch-{run}")["Table"]["ItemCount"]
        left_in_queue = remaining_bodies(stack, queue_url)
    finally:
        stack.stop()

    assert in_flight, "every booking had finished before the kill: nothing was tested"
    assert set(statuses.values()) == {"CONFIRMED"}, statuses
    charged = Counter(charge["booking_id"] for charge in charges if not charge["refunded"])
    assert {booking_id: charged[booking_id] for booking_id in ids} == dict.fromkeys(ids, 1)
    assert seats_before - seats_after == BOOKINGS
    assert scratch == SCRATCH_ITEMS
    assert left_in_queue == ["kept"]
    print(
        f"{len(in_flight)} of {BOOKINGS} bookings in flight at the kill; restart with data took "
        f"{restarted_in:.1f}s; the whole test {time.monotonic() - started:.0f}s"
    )
