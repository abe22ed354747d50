"""Shared pieces of the deployment tests: the rendered manifests, the tools, PromQL names."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
DASHBOARDS = K8S / "dashboards"
DOCKERFILE = ROOT / "Dockerfile"

KUBERNETES_VERSION = "1.33"
"""The Kubernetes release whose schemas every built-in manifest must satisfy."""


def tool(name: str) -> str:
    """A command-line tool installed by the project's test extra (beside this Python), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: `pip install -e '.[test]'` installs it")
    return found


def promtool() -> str:
    """Prometheus's promtool (Debian package `prometheus`; .ci/run installs it).

    A developer machine without it skips the promtool tests; CI never does.
    """
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI: .ci/run must install Debian's `prometheus` package")
        pytest.skip("promtool not installed (Debian: apt-get install prometheus); CI runs these tests")
    return found


@functools.cache
def rendered() -> tuple[dict[str, Any], ...]:
    """Every resource `kubectl apply -k k8s/` would apply, rendered by kustomize."""
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def resource(kind: str, name: str) -> dict[str, Any]:
    """One rendered resource by kind and name."""
    matches = [r for r in rendered() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def source_files() -> list[Path]:
    """The manifest files of k8s/ (one resource each), without the kustomization."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> Grafana dashboard model."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def alert_rules() -> list[dict[str, Any]]:
    """The rules of the PrometheusRule, across its groups."""
    spec = yaml.safe_load((K8S / "prometheusrule.yaml").read_text())["spec"]
    return [rule for group in spec["groups"] for rule in group["rules"]]


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard: panel targets and templating queries."""
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            # Grafana's label_values(<series selector>, <label>): the selector is PromQL.
            match = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", query)
            queries.append(match.group(1) if match else query)
    return queries


_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({"and", "or", "unless", "offset", "bool", "inf", "nan", "by", "without", "on", "ignoring"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (possibly with Grafana variables) selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values, label_replace args)
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables: $__rate_interval, ${datasource}
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = _GROUPING.sub("", text)
    text = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]?\b", "", text)  # numbers and durations
    names = set()
    for match in _IDENTIFIER.finditer(text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in _KEYWORDS:
            continue  # a function or aggregation, or an operator keyword
        names.add(match.group())
    return names


def exported_names(exposition: str) -> set[str]:
    """Sample names in a Prometheus text exposition (``foo_bucket``, ``foo_sum``... as written)."""
    names = set()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def series(exposition: str, name: str) -> list[dict[str, str]]:
    """The label sets of every sample named ``name``."""
    found = []
    for line in exposition.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})?\s", line)
        if match:
            found.append(dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or "")))
    return found
