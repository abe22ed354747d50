"""`stepwise decide --query`, `stepwise decisions` and `stepwise dead-letters`, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.support.processes import stack_env, stepwise
from tests.support.step_control import audits, wait_waiting
from tests.support.step_probe_fixtures import start_probe
from tests.workflows.common.step_probe import ProbeActivities, ProbeInput
from worker.services.operations import list_attention
from worker.settings import Settings


async def _cli(env: dict[str, str], *args: str) -> Any:
    return await asyncio.to_thread(stepwise, *args, env=env)


async def test_a_bulk_decision_lists_first_then_decides_each_match_and_the_log_reads_back(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    settings: Settings,
    probe: ProbeActivities,
    probe_worker: Worker,
    sessions: SessionMaker,
) -> None:
    step = f"bulk-{task_queue[-8:]}"
    probe.armed.add(step)
    handles = [await start_probe(dev_env.client, task_queue, ProbeInput(steps=[step])) for _ in range(2)]
    for handle in handles:
        await wait_waiting(handle, step)
    for _ in range(50):
        listed = {a.workflow_id for a in await list_attention(dev_env.client) if a.step == step and a.error_type}
        if listed == {h.id for h in handles}:
            break
        await asyncio.sleep(0.2)
    env = stack_env(dev_env, settings)
    query = f"pipeline=probe step={step} error_type=InjectedFault"

    dry = await _cli(env, "decide", "--query", query, "--action", "skip")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1] == "2 match; add --yes to skip each of them"
    assert await audits(sessions, handles[0].id) == []  # a listing decides nothing

    done = await _cli(env, "decide", "--query", query, "--action", "skip", "--operator", "ada", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    outcomes = json.loads(done.stdout)["outcomes"]
    assert sorted(o["workflow_id"] for o in outcomes if o["accepted"]) == sorted(h.id for h in handles)
    for handle in handles:
        await handle.result()

    log = await _cli(env, "decisions", "--workflow", handles[0].id, "--json")
    assert log.returncode == 0, log.stderr
    assert [(r["step"], r["action"], r["operator"], r["outcome"]) for r in json.loads(log.stdout)] == [
        (step, "skip", "ada", "accepted")
    ]
    text = await _cli(env, "decisions", "--operator", "ada", "--pipeline", "probe")
    assert sum(1 for line in text.stdout.splitlines() if step in line) == 2


async def test_bad_operator_command_input_is_one_line_and_a_non_zero_exit(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    env = stack_env(dev_env, settings)
    cases = [
        (("decide", "--query", "colour=blue", "--action", "skip"), "--query: 'colour=blue' is not one of"),
        (("decide", "--query", "pipeline=b2b", "--action", "explode"), "--action: must be one of"),
        (("decide", "--query", "pipeline=b2b", "--action", "skip", "--yes"), "--operator: required"),
        (("decide", "--query", "min_age=soon", "--action", "skip"), "min_age='soon' is not a duration"),
        # Each would have covered every waiting execution (or, for nan, silently none).
        (("decide", "--query", "min_age=0", "--action", "abort"), "--query: give at least one of"),
        (("decide", "--query", "min_age=-5m", "--action", "abort"), "min_age='-5m' is not a duration from 0s"),
        (("decide", "--query", "min_age=nan", "--action", "abort"), "min_age='nan' is not a duration from 0s"),
        (("decide", "--query", "min_age=inf", "--action", "abort"), "min_age='inf' is not a duration from 0s"),
        (("decisions", "--since", "yesterday"), "--since: 'yesterday' is not an ISO 8601 time"),
        (("dead-letters", "list", "nowhere"), "pipeline: must be one of"),
        (("dead-letters", "redrive", "media", "m-1"), "--operator: required"),
    ]
    for args, message in cases:
        answer = await _cli(env, *args)
        assert answer.returncode != 0, args
        lines = answer.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, answer.stderr)


async def test_dead_letters_are_listed_without_being_consumed_and_a_booking_is_not_redrivable(
    dev_env: WorkflowEnvironment, settings: Settings, aws: AwsClients, resources: Resources
) -> None:
    story = {"booking_id": f"b-{uuid.uuid4().hex[:8]}", "workflow_id": "booking-x", "failed_step": "collect_payment"}
    url = await aws.queue_url(resources.booking_dlq)
    sent = await aws.call("sqs", "send_message", QueueUrl=url, MessageBody=json.dumps(story))
    env = stack_env(dev_env, settings)
    for _ in range(2):  # read twice: the first read consumed nothing
        listed = await _cli(env, "dead-letters", "list", "booking", "--json")
        assert listed.returncode == 0, listed.stderr
        mine = [m for m in json.loads(listed.stdout) if m["message_id"] == sent["MessageId"]]
        assert [(m["business_key"], m["redrivable"]) for m in mine] == [(story["booking_id"], False)]
        assert "payment token" in mine[0]["not_redrivable_because"]
    refused = await _cli(env, "dead-letters", "redrive", "booking", sent["MessageId"], "--operator", "ada")
    assert refused.returncode == 2 and refused.stderr.startswith("stepwise: not redrivable: a booking's dead letter")
