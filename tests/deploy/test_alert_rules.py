"""The PrometheusRule's rule groups pass `promtool check rules`, and each alert fires when it should.

`promtool test rules` runs the cases of alerts_test.yaml: synthetic series in, the alerts
expected at given times out. Annotations are prose for people, so the cases compare labels
only (their templates are still checked by `check rules`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.deploy.crd_models import PrometheusRule
from tests.deploy.support import K8S, promtool

CASES = Path(__file__).parent / "alerts_test.yaml"


def rule_groups() -> list[dict[str, object]]:
    """The rule groups, validated against the PrometheusRule model."""
    document = yaml.safe_load((K8S / "prometheusrule.yaml").read_text())
    PrometheusRule.model_validate(document)
    groups: list[dict[str, object]] = document["spec"]["groups"]
    return groups


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups()}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_each_alert_fires_on_its_symptom_and_not_on_healthy_series(tmp_path: Path) -> None:
    groups = rule_groups()
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    shutil.copy(CASES, tmp_path / CASES.name)
    result = subprocess.run(
        [promtool(), "test", "rules", CASES.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_test_case_and_a_severity() -> None:
    alerts = {rule["alert"]: rule for group in rule_groups() for rule in group["rules"]}
    cases = yaml.safe_load(CASES.read_text())["tests"]
    tested = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    assert set(alerts) == tested
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
