"""`stepwise translation`: a folder becomes a project, status reads it, fetch writes what was delivered;
bad input is one line on stderr and a non-zero exit, with nothing written."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.translation.contracts import project_workflow_id
from activities.translation.keys import ProjectKeys
from tests.support.processes import stack_env, stepwise
from tests.support.translation import xliff12
from tests.worker.test_translation_api import finished_project, inbound_objects
from worker.settings import Settings


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


async def test_submit_uploads_the_folder_and_starts_the_project(
    dev_env: WorkflowEnvironment, settings: Settings, aws: AwsClients, resources: Resources, tmp_path: Path
) -> None:
    project = f"cli{uuid.uuid4().hex[:8]}"
    files = {
        "guide.xlf": xliff12({"1": "Hello"}),
        "terminology/glossary.csv": b"en,es\nStepwise,Stepwise\n",
        "memory/past.tmx": b"<tmx/>",
        ".DS_Store": b"\x00",
    }
    folder = _folder(tmp_path / "project", files)
    args = ["translation", "submit", str(folder), "--customer", "acme", "--project", project, "--json"]
    result = await asyncio.to_thread(stepwise, *args, env=stack_env(dev_env, settings))
    handle = dev_env.client.get_workflow_handle(project_workflow_id("acme", project))
    try:
        description = await handle.describe()
    finally:
        await handle.terminate("test over")

    assert result.returncode == 0, result.stderr
    keys = ProjectKeys("acme", project)
    assert json.loads(result.stdout) == {
        "project_id": f"acme-{project}",
        "workflow_id": f"translation-acme-{project}",
        "files": [keys.inbound_key(name) for name in ("guide.xlf", "memory/past.tmx", "terminology/glossary.csv")],
    }
    del files[".DS_Store"]  # hidden files are not the project's
    assert await inbound_objects(aws, resources, "acme", project) == files
    assert description.workflow_type == "TranslationProjectWorkflow"


async def test_bad_submissions_are_one_line_and_write_nothing(
    dev_env: WorkflowEnvironment, settings: Settings, aws: AwsClients, resources: Resources, tmp_path: Path
) -> None:
    project = f"bad{uuid.uuid4().hex[:8]}"
    nested = _folder(tmp_path / "nested", {"a.xlf": b"x", "chapter/b.xlf": b"x"})
    with_a_pipe = _folder(tmp_path / "piped", {"a.xlf": b"x"})
    os.mkfifo(with_a_pipe / "b.xlf")  # reading it would wait for a writer forever
    env = stack_env(dev_env, settings)
    cases = {
        "stepwise: --customer: 'Acme-1' is not a customer id (lowercase letters, digits, '_'; no '-')": [
            str(nested),
            "--customer",
            "Acme-1",
        ],
        f"stepwise: {tmp_path / 'missing'}: no such directory": [str(tmp_path / "missing"), "--customer", "acme"],
        f"stepwise: {nested}: 'chapter/b.xlf': a file name is letters": [str(nested), "--customer", "acme"],
        f"stepwise: {with_a_pipe}: b.xlf is not a regular file": [str(with_a_pipe), "--customer", "acme"],
    }
    for line, args in cases.items():
        result = await asyncio.to_thread(stepwise, "translation", "submit", *args, "--project", project, env=env)
        assert result.returncode == 1
        assert result.stderr.strip().startswith(line) and len(result.stderr.strip().splitlines()) == 1
        assert result.stdout == ""
    assert await inbound_objects(aws, resources, "acme", project) == {}


async def test_status_shows_each_pair_and_fetch_writes_the_delivered_files(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: SessionMaker,
    aws: AwsClients,
    resources: Resources,
    tmp_path: Path,
) -> None:
    project = f"done{uuid.uuid4().hex[:8]}"
    await finished_project(sessions, "acme", project)
    keys = ProjectKeys("acme", project)
    for target in ("es", "fr"):
        key = keys.outbound_key(target, "guide.xlf")
        await aws.call("s3", "put_object", Bucket=resources.translation_bucket, Key=key, Body=target.encode())
    env = stack_env(dev_env, settings)
    shown = await asyncio.to_thread(stepwise, "translation", "status", f"acme-{project}", env=env)
    fetched = await asyncio.to_thread(
        stepwise, "translation", "fetch", f"acme-{project}", "--out", str(tmp_path / "out"), env=env
    )

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"translation project acme-{project}: DELIVERED"
    assert "  cost         0.05 USD" in lines
    assert [line.split() for line in lines if line.startswith("  en-")] == [
        ["en-es", "STAGED", "12", "12", "1500", "0.02"],
        ["en-fr", "STAGED", "12", "12", "1500", "0.03"],
    ]
    assert "  quarantined  broken.xlf: not well-formed XML at line 1" in lines
    assert (fetched.returncode, fetched.stdout.strip()) == (0, f"2 files written to {tmp_path / 'out'}")
    assert {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*.xlf")} == {
        "es/guide.xlf": b"es",
        "fr/guide.xlf": b"fr",
    }


async def test_unknown_and_malformed_projects_are_one_line_and_a_non_zero_exit(
    dev_env: WorkflowEnvironment, settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    env = stack_env(dev_env, settings)
    unknown = await asyncio.to_thread(stepwise, "translation", "status", "acme-never-submitted", env=env)
    malformed = await asyncio.to_thread(stepwise, "translation", "status", "no_dash", env=env)
    undelivered = await asyncio.to_thread(
        stepwise, "translation", "fetch", "acme-never-submitted", "--out", str(tmp_path), env=env
    )
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "stepwise: no translation project 'acme-never-submitted'",
    )
    assert (malformed.returncode, malformed.stderr.strip()) == (
        1,
        "stepwise: 'no_dash' is not a project id (<customer>-<project>)",
    )
    assert (undelivered.returncode, undelivered.stderr.strip()) == (
        1,
        "stepwise: nothing delivered yet for translation project 'acme-never-submitted'",
    )
    assert list(tmp_path.iterdir()) == []
