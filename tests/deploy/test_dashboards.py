"""The Grafana dashboards: well-formed models that cover what operators watch.

Whether each metric they query is exported is test_exported_metrics.py's job; here the
dashboards must load in Grafana (ids, grid, datasource variable) and show every topic the
operations section promises.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.support import dashboard_queries, dashboards, metric_names

TOPICS = {
    "throughput and outcomes per pipeline": {"temporal_workflow_completed", "stepwise_bookings_total"},
    "compensations": {"stepwise_booking_compensations_total"},
    "parked steps and decisions": {"stepwise_steps_parked_total", "stepwise_decisions_total"},
    "activity latency by type": {"temporal_activity_execution_latency_bucket"},
    "activity failures by type": {"temporal_activity_execution_failed", "temporal_local_activity_execution_failed"},
    "task-queue schedule-to-start": {
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        "temporal_activity_schedule_to_start_latency_bucket",
    },
    "sticky cache": {"temporal_sticky_cache_size"},
    "worker slots": {"temporal_worker_task_slots_available"},
    "dead letters": {"stepwise_dlq_depth"},
}


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_dashboard_is_a_well_formed_grafana_model(name: str) -> None:
    dashboard = dashboards()[name]
    assert dashboard["uid"] and dashboard["title"].startswith("Stepwise")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel.get("description"), panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids and len(set(ref_ids)) == len(ref_ids)
        assert all(t["expr"].strip() for t in panel["targets"])


def test_the_dashboards_have_distinct_uids() -> None:
    uids = [d["uid"] for d in dashboards().values()]
    assert len(set(uids)) == len(uids)


def test_the_dashboards_cover_every_topic_operators_watch() -> None:
    shown: set[str] = set()
    for dashboard in dashboards().values():
        for query in dashboard_queries(dashboard):
            shown |= metric_names(query)
    uncovered = {topic: sorted(names - shown) for topic, names in TOPICS.items() if not names <= shown}
    assert not uncovered


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_gauges_replicated_by_every_worker_are_read_with_max_not_sum() -> None:
    # Every replica exports the same DLQ depth and attention gauges: summing would multiply them.
    for dashboard in dashboards().values():
        for panel in _panels(dashboard):
            for target in panel["targets"]:
                for gauge in ("stepwise_dlq_depth", "stepwise_attention_"):
                    if gauge in target["expr"]:
                        assert target["expr"].startswith("max"), target["expr"]
