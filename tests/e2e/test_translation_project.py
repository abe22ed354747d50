"""Translation projects end to end on the embedded stack: dev server, worker, moto, the Translate
emulator's batch jobs, Postgres.

The tests drop files as a customer would, then read the world: XLIFF in the staging and
outbound prefixes, rows in Postgres, SNS notices, the workflow's history.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.contracts import DECIDE_UPDATE, DecisionOutcome, StepDecision
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.translation import TranslationFile, TranslationPair, TranslationProject
from activities.translation.contracts import NOTHING_TO_TRANSLATE, project_id, project_workflow_id
from activities.translation.project import lifecycle_rule_id
from tests.support.step_control import wait_waiting
from tests.support.translation import (
    demo_files,
    fast_request,
    pricing,
    submit,
    unique_project,
    wait_status,
    xliff12,
)
from tests.support.world import QueueReader
from worker.services.translation import closed_reason, signal_project, upload_files
from worker.settings import Settings

XLIFF12 = "{urn:oasis:names:tc:xliff:document:1.2}"
XLIFF20 = "{urn:oasis:names:tc:xliff:document:2.0}"


async def _pairs(sessions: SessionMaker, pid: str) -> dict[str, TranslationPair]:
    async with sessions() as session:
        rows = (await session.scalars(select(TranslationPair).where(TranslationPair.project_id == pid))).all()
    return {f"{row.source_language}-{row.target_language}": row for row in rows}


async def test_demo_project_is_translated_flagged_staged_reviewed_and_delivered(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    notices = await QueueReader.subscribed_to(aws, resources.translation_notifications_topic)
    project = unique_project("launch")
    # A price that makes the demo's few characters cost more than a cent, so rounding shows.
    request = fast_request(settings, resources, "demo", project, pricing=pricing("15000"), archive_after_days=45)
    async with stepwise_worker(dev_env.client):
        handle = await submit(dev_env.client, aws, resources, settings, request, demo_files())
        await wait_waiting(handle, "review", timeout=60)

        # Staged: every segment flagged for the translators, the terminology's terms used.
        staged = {
            lang: etree.fromstring(
                await aws.read_object(resources.translation_staging_bucket, f"demo/{project}/{lang}/{name}")
            )
            for lang, name in (("es", "guide.xlf"), ("fr", "ui.xlf"))
        }
        es_targets = staged["es"].findall(f".//{XLIFF12}target")
        assert len(es_targets) == 3
        assert {t.get("state") for t in es_targets} == {"needs-review-translation"}
        assert "tablero" in "".join(t.text or "" for t in es_targets)
        fr_segments = staged["fr"].findall(f".//{XLIFF20}segment")
        assert [s.get("state") for s in fr_segments] == ["translated"] * 3
        assert "tableau de bord" in "".join(t.text or "" for t in staged["fr"].iter(f"{XLIFF20}target")).lower()

        pid = project_id("demo", project)
        pairs = await _pairs(sessions, pid)
        assert sorted(pairs) == ["en-es", "en-fr"]
        for name, characters, cost in (("en-es", 148, "2.22"), ("en-fr", 41, "0.62")):
            row = pairs[name]
            assert (row.state, row.segments, row.flagged, row.characters) == ("STAGED", 3, 3, characters)
            assert row.cost_usd == Decimal(cost)  # 148 x 15000 / 1e6 = 2.22; 41 x 0.015 = 0.615 -> 0.62
            assert row.jobs is not None and len(row.jobs.split(",")) == 1
        async with sessions() as session:
            in_review = await session.get(TranslationProject, pid)
        assert in_review is not None
        assert (in_review.status, in_review.cost_usd, in_review.characters) == ("IN_REVIEW", Decimal("2.84"), 189)

        # A file arriving now is not part of the project: listed, not translated, and refused at the edge.
        late_key = f"translation-inbound/demo/{project}/late.xlf"
        await signal_project(dev_env.client, request, late_key, settings.worker.task_queue)
        assert (await wait_status(handle, "IN_REVIEW")).late_files == [late_key]
        assert "has already read its files" in (await closed_reason(dev_env.client, "demo", project) or "")
        outcome = await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("review", "approve", operator="rosa", reason="reads well"),
            result_type=DecisionOutcome,
        )
        assert (outcome.action, outcome.duplicate) == ("approve", False)
        result = await handle.result()

    assert (result.status, result.cost, result.reviewed_by) == ("DELIVERED", "2.84", "rosa")
    assert "was delivered" in (await closed_reason(dev_env.client, "demo", project) or "")
    for key in (f"translation-outbound/demo/{project}/es/guide.xlf", f"translation-outbound/demo/{project}/fr/ui.xlf"):
        delivered = await aws.read_object(resources.translation_bucket, key)
        assert b"needs-review-translation" in delivered or b'state="translated"' in delivered
    async with sessions() as session:
        delivered_row = await session.get(TranslationProject, pid)
        assert delivered_row is not None and delivered_row.delivered_at is not None
        assert (delivered_row.status, delivered_row.reviewed_by, delivered_row.cost_usd) == (
            "DELIVERED",
            "rosa",
            Decimal("2.84"),
        )
        files = (await session.scalars(select(TranslationFile).where(TranslationFile.project_id == pid))).all()
        assert {f.name: f.status for f in files} == {
            "guide.xlf": "ACCEPTED",
            "ui.xlf": "ACCEPTED",
            "terminology/glossary.csv": "ACCEPTED",
        }
    lifecycle = await aws.call("s3", "get_bucket_lifecycle_configuration", Bucket=resources.translation_bucket)
    rule = next(r for r in lifecycle["Rules"] if r["ID"] == lifecycle_rule_id("demo"))
    assert rule["Filter"]["Prefix"] == "translation-outbound/demo/"
    assert rule["Transitions"] == [{"Days": 45, "StorageClass": "GLACIER_IR"}]

    events = [m for m in await notices.distinct() if m.get("project") == project]
    assert sorted(m["event"] + ":" + m.get("pair", "") for m in events) == [
        "translation.delivered:",
        "translation.pair_staged:en-es",
        "translation.pair_staged:en-fr",
    ]


async def test_hostile_files_are_quarantined_with_reasons_and_nothing_is_translated(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    emulators: Any,
) -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"><file source-language="en" '
        b'target-language="es" original="x" datatype="plaintext"><body><trans-unit id="1"><source>&e;</source>'
        b"</trans-unit></body></file></xliff>"
    )
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xliff version="1.2"><file><body><trans-unit id="1">'
        b"<source>&lol3;</source></trans-unit></body></file></xliff>"
    )
    latin1 = xliff12({"1": "Caf\u00e9 cr\u00e8me"}).replace(
        "Caf\u00e9 cr\u00e8me".encode(), "Caf\u00e9 cr\u00e8me".encode("latin-1")
    )
    before = (await emulators.state.translate.stats())["jobs_started"]
    project = unique_project("hostile")
    request = fast_request(settings, resources, "acme", project)
    async with stepwise_worker(dev_env.client):
        handle = await submit(
            dev_env.client,
            aws,
            resources,
            settings,
            request,
            [("xxe.xlf", xxe), ("laughs.xlf", laughs), ("latin1.xlf", latin1), ("notes.docx", b"PK\x03\x04")],
        )
        with pytest.raises(WorkflowFailureError) as refused:
            await handle.result()
    # Failed, not completed: the customer may send the project again once the files are fixed.
    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == NOTHING_TO_TRANSLATE
    assert (await emulators.state.translate.stats())["jobs_started"] == before
    pid = project_id("acme", project)
    async with sessions() as session:
        files = {
            f.name: f
            for f in (await session.scalars(select(TranslationFile).where(TranslationFile.project_id == pid))).all()
        }
        row = await session.get(TranslationProject, pid)
    assert row is not None and row.status == "REFUSED"
    assert {name: f.status for name, f in files.items()} == dict.fromkeys(
        ["xxe.xlf", "laughs.xlf", "latin1.xlf", "notes.docx"], "QUARANTINED"
    )
    assert "DTD" in (files["xxe.xlf"].reason or "") and "DTD" in (files["laughs.xlf"].reason or "")
    assert "UTF-8" in (files["latin1.xlf"].reason or "")
    assert "unsupported file" in (files["notes.docx"].reason or "")
    for name in files:  # kept, byte for byte, in quarantine
        kept = await aws.read_object(resources.translation_bucket, f"translation-quarantine/acme/{project}/{name}")
        assert kept == await aws.read_object(resources.translation_bucket, f"translation-inbound/acme/{project}/{name}")
    assert not await _pairs(sessions, pid)


async def test_a_project_of_200_files_keeps_its_histories_short(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    stepwise_worker: Any,
) -> None:
    project = unique_project("big")
    files = [(f"doc-{i:03}.xlf", xliff12({"a": f"Line {i} of the manual.", "b": "Press Start."})) for i in range(200)]
    request = fast_request(settings, resources, "acme", project, settle_seconds=2.0)
    async with stepwise_worker(dev_env.client):
        keys = await upload_files(aws, resources, "acme", project, files)
        for batch in range(0, len(keys), 10):  # one signal per file, ten at a time, as the intake sends them
            await asyncio.gather(
                *(
                    signal_project(dev_env.client, request, key, settings.worker.task_queue)
                    for key in keys[batch : batch + 10]
                )
            )
        handle = dev_env.client.get_workflow_handle(project_workflow_id("acme", project))
        await wait_waiting(handle, "review", timeout=120)
        pair = dev_env.client.get_workflow_handle(f"{handle.id}-en-es")
        pair_events = [e async for e in pair.fetch_history_events()]
        project_events = [e async for e in handle.fetch_history_events()]
        await handle.terminate("test done")
    # The pair's history does not grow with files (names and counts; the content stays in S3);
    # the project's grows by the arrival signals only: at most four events a file.
    signals = [e for e in project_events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    print(
        f"\n200 files: pair history {len(pair_events)} events, project {len(project_events)} ({len(signals)} signals)"
    )
    assert len(signals) == 200
    assert len(pair_events) < 80, len(pair_events)
    assert len(project_events) < 4 * 200 + 60, len(project_events)
    completed = [e for e in pair_events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]
    assert len(completed) == 1
    staged = await aws.call(
        "s3", "list_objects_v2", Bucket=resources.translation_staging_bucket, Prefix=f"acme/{project}/es/"
    )
    assert staged["KeyCount"] == 200


async def _wait_pair_state(
    sessions: SessionMaker, pid: str, pair: str, state: str, timeout: float = 30
) -> TranslationPair:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = (await _pairs(sessions, pid)).get(pair)
        if row is not None and row.state == state:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{pair} of {pid} never {state}: {row and row.state}")
        await asyncio.sleep(0.2)


async def test_a_dropped_segment_is_resubmitted_once_and_parks_when_missing_again(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    emulators: Any,
) -> None:
    files = [
        ("manual.xlf", xliff12({"1": "Open the lid.", "2": "Press the red button."})),
        ("faq.xlf", xliff12({"q": "Why?"})),
    ]
    recovered, stuck = unique_project("drop-once"), unique_project("drop-twice")
    async with stepwise_worker(dev_env.client):
        # Translate drops a segment once: the incomplete files go again, alone, and come back whole.
        emulators.state.translate.configure_jobs(drop_segments=1)
        handle = await submit(
            dev_env.client, aws, resources, settings, fast_request(settings, resources, "acme", recovered), files
        )
        await wait_waiting(handle, "review", timeout=60)
        row = (await _pairs(sessions, project_id("acme", recovered)))["en-es"]
        assert (row.state, row.missing, row.segments) == ("STAGED", 0, 3)
        # Translate bills both jobs: 38 source characters, both files sent again: 76.
        assert (row.characters, row.billed_characters) == (38, 76)
        assert row.jobs is not None and len(row.jobs.split(",")) == 2
        jobs = await aws.call("translate", "list_text_translation_jobs", Filter={"JobName": f"{handle.id}-en-es-r1"})
        resubmitted = jobs["TextTranslationJobPropertiesList"]
        assert len(resubmitted) == 1
        second_input = await aws.call(
            "s3",
            "list_objects_v2",
            Bucket=resources.translation_bucket,
            Prefix=f"translation-jobs/acme/{recovered}/en-es/r1/input/",
        )
        assert sorted(o["Key"].rsplit("/", 1)[1] for o in second_input["Contents"]) == ["faq.xlf", "manual.xlf"]
        for name in ("manual.xlf", "faq.xlf"):
            staged = etree.fromstring(
                await aws.read_object(resources.translation_staging_bucket, f"acme/{recovered}/es/{name}")
            )
            assert all((t.text or "").startswith("[es] ") for t in staged.iter(f"{XLIFF12}target"))
        await handle.terminate("test done")

        # Dropped twice: the pair parks at verify, with the units named, for an operator.
        emulators.state.translate.configure_jobs(drop_segments=2)
        handle = await submit(
            dev_env.client, aws, resources, settings, fast_request(settings, resources, "acme", stuck), files
        )
        pair = dev_env.client.get_workflow_handle(f"{handle.id}-en-es")
        parked = await wait_waiting(pair, "verify", timeout=60)
        assert parked.last_error_type == "TranslationSegmentsMissing"
        assert "manual.xlf: units 2 untranslated" in parked.last_error
        skipped = await pair.execute_update(
            DECIDE_UPDATE,
            StepDecision("verify", "skip", operator="rosa", reason="translators will finish them"),
            result_type=DecisionOutcome,
        )
        assert skipped.action == "skip"
        await wait_waiting(handle, "review", timeout=30)
        row = (await _pairs(sessions, project_id("acme", stuck)))["en-es"]
        assert (row.state, row.missing) == ("STAGED", 2)
        await handle.terminate("test done")


async def test_a_failed_job_reports_translates_reason_and_the_pair_parks_in_the_project(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
    emulators: Any,
) -> None:
    project = unique_project("fails")
    reason = "Amazon Translate couldn't access the input bucket: Access Denied"
    async with stepwise_worker(dev_env.client):
        emulators.state.translate.configure_jobs(fail_jobs=1, reason=reason)
        handle = await submit(
            dev_env.client,
            aws,
            resources,
            settings,
            fast_request(settings, resources, "acme", project),
            [("a.xlf", xliff12({"1": "Hello."}))],
        )
        parked = await wait_waiting(handle, "pair:en-es", timeout=60)
        assert parked.last_error_type == "TranslationJobFailed"
        assert reason in parked.last_error
        row = (await _pairs(sessions, project_id("acme", project)))["en-es"]
        assert row.state == "FAILED" and reason in (row.reason or "")
        # The operator's retry runs the pair again: a new run, so a new job, which completes.
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("pair:en-es", "retry", operator="rosa", reason="bucket policy fixed"),
            result_type=DecisionOutcome,
        )
        await wait_waiting(handle, "review", timeout=60)
        row = (await _pairs(sessions, project_id("acme", project)))["en-es"]
        assert row.state == "STAGED" and row.jobs is not None and len(row.jobs.split(",")) == 1
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("review", "reject", operator="rosa", reason="terms"),
            result_type=DecisionOutcome,
        )
        progress = await wait_status(handle, "CHANGES_REQUESTED")
        assert progress.review_round == 2
        async with sessions() as session:
            project_row = await session.get(TranslationProject, project_id("acme", project))
            assert project_row is not None
            assert (project_row.status, project_row.review_comment) == ("CHANGES_REQUESTED", "terms")
        await handle.execute_update(
            DECIDE_UPDATE,
            StepDecision("review-2", "approve", operator="rosa", reason="ok"),
            result_type=DecisionOutcome,
        )
        result = await handle.result()
    assert result.status == "DELIVERED"


async def test_never_more_pairs_in_flight_than_the_quota_across_two_projects(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    stepwise_worker: Any,
    emulators: Any,
) -> None:
    quota = 2
    files = [
        (f"{target}.xlf", xliff12({"1": "Hello there.", "2": "Good bye."}, target=target))
        for target in ("es", "fr", "de")
    ]
    emulators.state.translate.configure_jobs(polls_in_progress=4)
    try:
        async with stepwise_worker(dev_env.client):
            handles = await asyncio.gather(
                *(
                    submit(
                        dev_env.client,
                        aws,
                        resources,
                        settings,
                        fast_request(
                            settings, resources, "acme", unique_project(f"quota{i}"), max_pairs_in_flight=quota
                        ),
                        files,
                    )
                    for i in range(2)
                )
            )
            for handle in handles:
                await wait_waiting(handle, "review", timeout=120)
                await handle.terminate("test done")
    finally:
        emulators.state.translate.configure_jobs(polls_in_progress=2)
    # Measured from Translate's own record of these projects' jobs: submitted -> ended.
    listed = await aws.call("translate", "list_text_translation_jobs")
    ours = [
        job
        for job in listed["TextTranslationJobPropertiesList"]
        if any(str(job["JobName"]).startswith(handle.id + "-") for handle in handles)
    ]
    assert len(ours) == 6  # three pairs a project
    edges = sorted(
        [(job["SubmittedTime"].timestamp(), 1) for job in ours] + [(job["EndTime"].timestamp(), -1) for job in ours]
    )
    running = peak = 0
    for _, change in edges:  # an end at the same instant as a start is counted first
        running += change
        peak = max(peak, running)
    # Six pairs, each job running four polls: the quota was reached and never passed.
    print(f"\nquota {quota}: at most {peak} of these projects' jobs ran at once")
    assert peak == quota


async def test_translation_memory_becomes_parallel_data_and_is_priced_as_custom_translation(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    resources: Resources,
    aws: AwsClients,
    sessions: SessionMaker,
    stepwise_worker: Any,
) -> None:
    memory = (
        b'<?xml version="1.0" encoding="UTF-8"?><tmx version="1.4"><header srclang="en" datatype="plaintext" '
        b'segtype="sentence" adminlang="en" o-tmf="x" creationtool="t" creationtoolversion="1"/><body>'
        b'<tu><tuv xml:lang="en"><seg>Press Start.</seg></tuv><tuv xml:lang="es"><seg>Pulse Inicio.</seg></tuv></tu>'
        b"</body></tmx>"
    )
    project = unique_project("memory")
    request = fast_request(settings, resources, "acme", project, pricing=pricing("15000", "60000"))
    files = [("manual.xlf", xliff12({"1": "Press Start.", "2": "Wait."})), ("memory/previous.tmx", memory)]
    async with stepwise_worker(dev_env.client):
        handle = await submit(dev_env.client, aws, resources, settings, request, files)
        await wait_waiting(handle, "review", timeout=60)
        await handle.terminate("test done")
    row = (await _pairs(sessions, project_id("acme", project)))["en-es"]
    # 17 characters at 60,000 $ per million (Active Custom Translation): 1.02.
    assert (row.characters, row.price_per_million, row.cost_usd) == (17, Decimal("60000"), Decimal("1.02"))
    name = f"acme-{project}-en-es"
    parallel = await aws.call("translate", "get_parallel_data", Name=name)
    assert parallel["ParallelDataProperties"]["ParallelDataConfig"]["S3Uri"].endswith(f"{project}/memory/previous.tmx")
    job_id = (row.jobs or "").split(",")[0]
    job = await aws.call("translate", "describe_text_translation_job", JobId=job_id)
    assert job["TextTranslationJobProperties"]["ParallelDataNames"] == [name]
