"""The image: hadolint-clean, non-root, exec-form entrypoint, nothing but the virtualenv in it.

No Docker daemon is needed: the Dockerfile is linted and parsed, and what it copies is
checked against the repository and .dockerignore.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from dataclasses import dataclass

import yaml

from tests.deploy.support import DOCKERFILE, K8S, ROOT, tool


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions in order, without comments."""
    found: list[Instruction] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def stages() -> list[list[Instruction]]:
    """Instructions grouped by build stage (each starts at a FROM)."""
    grouped: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction.keyword == "FROM":
            grouped.append([])
        if grouped:
            grouped[-1].append(instruction)
    return grouped


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_final_stage_runs_as_the_non_root_uid_the_pods_require() -> None:
    final = stages()[-1]
    users = [i.arguments for i in final if i.keyword == "USER"]
    assert users, "the final stage sets no USER: the image would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid not in ("root", "0") and gid not in ("root", "0")
    # Numeric, so Kubernetes can enforce runAsNonRoot; the same uid the pods declare.
    assert uid.isdigit()
    for name in ("worker-deployment.yaml", "api-deployment.yaml", "migrate-job.yaml"):
        pod = yaml.safe_load((K8S / name).read_text())["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == int(uid), name
        assert pod["securityContext"]["runAsNonRoot"] is True, name


def test_entrypoint_is_exec_form_stepwise_with_the_worker_role_by_default() -> None:
    final = stages()[-1]
    [entrypoint] = [i.arguments for i in final if i.keyword == "ENTRYPOINT"]
    [cmd] = [i.arguments for i in final if i.keyword == "CMD"]
    # Exec form (a JSON array): `stepwise` is PID 1 and gets SIGTERM itself, no shell in between.
    assert json.loads(entrypoint) == ["stepwise"]
    assert json.loads(cmd) == ["worker"]


def test_is_multi_stage_and_the_final_stage_installs_nothing() -> None:
    build, final = stages()[0], stages()[-1]
    assert len(stages()) >= 2
    assert any("pip install" in i.arguments for i in build if i.keyword == "RUN")
    installers = re.compile(r"\b(pip3?|apt-get|apt|apk|gcc|cc|make|build-essential)\b")
    for instruction in final:
        if instruction.keyword == "RUN":
            assert not installers.search(instruction.arguments), instruction
    copies = [i.arguments for i in final if i.keyword == "COPY"]
    assert copies and all(c.startswith("--from=build ") for c in copies), copies
    for instruction in instructions():
        if instruction.keyword == "FROM" or (instruction.keyword == "ARG" and "IMAGE" in instruction.arguments):
            assert ":latest" not in instruction.arguments


def test_everything_the_build_copies_exists_and_passes_dockerignore() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for instruction in stages()[0]:
        if instruction.keyword == "COPY" and not instruction.arguments.startswith("--from"):
            sources.extend(instruction.arguments.split()[:-1])
    assert {"pyproject.toml", "README.md", "worker", "workflows", "activities", "migrations"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert _included(source, patterns), f"{source} is excluded by .dockerignore"
    assert not _included("tests", patterns)
    assert not _included(".venv", patterns)


def _included(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, glob):
            included = negated
    return included
