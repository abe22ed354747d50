"""k8s/: what `kubectl apply -k k8s/` would apply validates, and the pieces fit each other.

Built-in kinds are validated against the Kubernetes schemas of KUBERNETES_VERSION in strict
mode (unknown fields are errors); the KEDA and Prometheus Operator objects against the typed
models of tests/deploy/crd_models.py. The rest checks what no schema can: the worker's grace
period covers its drain, probes and ports match the settings, selectors select, the
autoscaler watches the queue the workers poll, and no secret value is in a manifest.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.crd_models import CUSTOM_RESOURCES, ScaledObject, ServiceMonitor
from tests.deploy.support import DASHBOARDS, K8S, KUBERNETES_VERSION, rendered, resource, source_files
from worker.cli import app as cli_app
from worker.settings import load_settings

APP_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component")
SECRET_SETTINGS = ("STEPWISE_DATABASE_URL", "TEMPORAL_API_KEY", "STEPWISE_PARTNERS__PAYMENT_API_KEY")


def validate(document: dict[str, Any]) -> None:
    """Validate one resource: Kubernetes schema for built-in kinds, a typed model for CRDs."""
    if document["kind"] in CUSTOM_RESOURCES:
        CUSTOM_RESOURCES[document["kind"]].model_validate(document)
    else:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest_file_and_dashboard() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in source_files())
    [generator] = kustomization["configMapGenerator"]
    assert sorted(generator["files"]) == sorted(f"dashboards/{p.name}" for p in DASHBOARDS.glob("*.json"))


@pytest.mark.parametrize("document", rendered(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_rendered_resource_is_valid(document: dict[str, Any]) -> None:
    validate(document)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    worker = copy.deepcopy(resource("Deployment", "stepwise-worker"))
    worker["spec"]["template"]["spec"]["terminationGracePeriod"] = 45
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(worker)
    scaled = copy.deepcopy(resource("ScaledObject", "stepwise-worker"))
    scaled["spec"]["triggers"][0]["metadata"]["taskqueue"] = "stepwise"
    with pytest.raises(ValueError, match="taskqueue"):
        validate(scaled)


@pytest.mark.parametrize("path", source_files(), ids=lambda p: p.name)
def test_each_file_holds_one_resource_with_the_app_labels(path: Any) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert len(documents) == 1
    labels = documents[0]["metadata"].get("labels", {})
    assert all(labels.get(key) for key in APP_LABELS), labels
    assert labels["app.kubernetes.io/name"] == "stepwise"


def test_every_rendered_resource_lands_in_the_stepwise_namespace_with_labels() -> None:
    for document in rendered():
        labels = document["metadata"].get("labels", {})
        assert all(labels.get(key) for key in APP_LABELS), document["metadata"]["name"]
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "stepwise"


def pod_specs() -> dict[str, dict[str, Any]]:
    """Workload name -> its pod spec."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in rendered() if d["kind"] in ("Deployment", "Job")
    }


def test_images_are_pinned_by_kustomize_and_never_latest() -> None:
    for name, pod in pod_specs().items():
        for container in pod["containers"]:
            repository, _, tag = container["image"].rpartition(":")
            assert repository and tag and tag != "latest", (name, container["image"])
            assert "/" in repository, "the registry comes from kustomization.yaml `images:`"
    for path in source_files():
        assert ":latest" not in path.read_text(), path.name


def test_roles_are_the_cli_commands_of_one_image() -> None:
    commands = {command.name or command.callback.__name__ for command in cli_app.registered_commands}
    roles = {}
    for name, pod in pod_specs().items():
        [container] = pod["containers"]
        roles[name] = container["args"]
        assert container["args"][0] in commands
    assert roles == {"stepwise-worker": ["worker"], "stepwise-api": ["api"], "stepwise-migrate": ["migrate"]}
    images = {c["image"] for pod in pod_specs().values() for c in pod["containers"]}
    assert len(images) == 1


def test_no_secret_values_only_references_to_a_secret_made_elsewhere() -> None:
    assert not [d for d in rendered() if d["kind"] == "Secret"]
    config = resource("ConfigMap", "stepwise-config")["data"]
    for key in config:
        assert key not in SECRET_SETTINGS and "TOKEN" not in key and "PASSWORD" not in key, key
    for name, pod in pod_specs().items():
        for container in pod["containers"]:
            for variable in container.get("env", []):
                if variable["name"] in SECRET_SETTINGS or "TOKEN" in variable["name"]:
                    assert "value" not in variable, (name, variable["name"])
                    assert variable["valueFrom"]["secretKeyRef"]["name"] == "stepwise-secrets"
            assert container["envFrom"] == [{"configMapRef": {"name": "stepwise-config"}}]
        assert any(v["name"] == "STEPWISE_DATABASE_URL" for c in pod["containers"] for v in c.get("env", []))


def test_the_config_map_is_a_valid_stepwise_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    config = resource("ConfigMap", "stepwise-config")["data"]
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("STEPWISE_DATABASE_URL", "postgresql://stepwise@db.invalid/stepwise")
    settings = load_settings()
    assert settings.worker.host == "0.0.0.0" and settings.api.host == "0.0.0.0"
    assert settings.worker.task_queue == config["STEPWISE_WORKER__TASK_QUEUE"]
    assert settings.temporal.address == config["TEMPORAL_ADDRESS"]
    assert settings.telemetry.log_format == "json"


def worker_container() -> dict[str, Any]:
    """The worker Deployment's container."""
    [container] = pod_specs()["stepwise-worker"]["containers"]
    return container


def test_the_worker_grace_period_covers_its_drain() -> None:
    config = resource("ConfigMap", "stepwise-config")["data"]
    drain = float(config["STEPWISE_WORKER__GRACEFUL_SHUTDOWN_SECONDS"])
    grace = pod_specs()["stepwise-worker"]["terminationGracePeriodSeconds"]
    # The drain plus time to close the health server, the pool and the client.
    assert grace >= drain + 10, (grace, drain)


def test_worker_probes_and_ports_match_its_settings() -> None:
    config = resource("ConfigMap", "stepwise-config")["data"]
    container = worker_container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {
        "health": int(config["STEPWISE_WORKER__HEALTH_PORT"]),
        "metrics": int(config["STEPWISE_WORKER__METRICS_PORT"]),
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    [api] = pod_specs()["stepwise-api"]["containers"]
    assert {p["name"]: p["containerPort"] for p in api["ports"]} == {
        "http": int(config["STEPWISE_API__PORT"]),
        "metrics": int(config["STEPWISE_API__METRICS_PORT"]),
    }
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_services_budgets_and_policies_select_their_pods() -> None:
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in rendered()
        if d["kind"] == "Deployment"
    }
    expected = {
        ("Service", "stepwise-worker"): "stepwise-worker",
        ("Service", "stepwise-api"): "stepwise-api",
        ("PodDisruptionBudget", "stepwise-worker"): "stepwise-worker",
        ("PodDisruptionBudget", "stepwise-api"): "stepwise-api",
        ("NetworkPolicy", "stepwise-worker"): "stepwise-worker",
        ("NetworkPolicy", "stepwise-api"): "stepwise-api",
    }
    for (kind, name), deployment in expected.items():
        spec = resource(kind, name)["spec"]
        selector = spec.get("selector") if kind == "Service" else spec.get("selector", spec.get("podSelector"))
        selector = selector.get("matchLabels", selector) if kind != "Service" else selector
        matched = [pod for pod, labels in pods.items() if _selects(selector, labels)]
        assert matched == [deployment], (kind, name, matched)


def test_the_autoscaler_watches_the_queue_the_workers_poll() -> None:
    config = resource("ConfigMap", "stepwise-config")["data"]
    scaled = ScaledObject.model_validate(resource("ScaledObject", "stepwise-worker"))
    worker = resource("Deployment", "stepwise-worker")
    assert scaled.spec.scaleTargetRef.name == worker["metadata"]["name"]
    assert scaled.spec.scaleTargetRef.kind in (None, "Deployment")
    assert scaled.spec.scaleTargetRef.envSourceContainerName == worker_container()["name"]
    [trigger] = scaled.spec.triggers
    assert trigger.metadata.taskQueue == config["STEPWISE_WORKER__TASK_QUEUE"]
    assert trigger.metadata.namespace == config["TEMPORAL_NAMESPACE"]
    # KEDA reads the endpoint from the container's environment, which the ConfigMap fills.
    assert trigger.metadata.endpointFromEnv in config
    assert scaled.spec.minReplicaCount == worker["spec"]["replicas"]
    # The behaviour KEDA hands to its HPA must be a valid autoscaling/v2 behaviour.
    assert scaled.spec.advanced and scaled.spec.advanced.horizontalPodAutoscalerConfig
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "keda-hpa-stepwise-worker"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stepwise-worker"},
            "maxReplicas": scaled.spec.maxReplicaCount,
            "behavior": scaled.spec.advanced.horizontalPodAutoscalerConfig.behavior,
        },
    }
    kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)


def test_the_service_monitor_scrapes_the_worker_and_api_metrics_ports() -> None:
    monitor = ServiceMonitor.model_validate(resource("ServiceMonitor", "stepwise"))
    services = [d for d in rendered() if d["kind"] == "Service"]
    selected = {
        s["metadata"]["name"]: s
        for s in services
        if _selects(monitor.spec.selector.matchLabels, s["metadata"]["labels"])
    }
    assert set(selected) == {"stepwise-worker", "stepwise-api"}
    scraped = {
        (name, endpoint.path)
        for name, service in selected.items()
        for endpoint in monitor.spec.endpoints
        if endpoint.port in {p["name"] for p in service["spec"]["ports"]}
    }
    assert scraped == {("stepwise-worker", "/metrics"), ("stepwise-api", "/metrics")}
    assert {e.port for e in monitor.spec.endpoints} == {"metrics"}, "the API's http port serves no metrics"
    worker_metrics = next(e for e in monitor.spec.endpoints if e.port == "metrics")
    assert worker_metrics.honorLabels, "the SDK's namespace label must survive the scrape"


def test_the_dashboards_config_map_carries_each_dashboard_for_grafana() -> None:
    config_map = resource("ConfigMap", "stepwise-dashboards")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    files = {p.name: json.loads(p.read_text()) for p in DASHBOARDS.glob("*.json")}
    assert {key: json.loads(value) for key, value in config_map["data"].items()} == files


def test_only_the_monitoring_namespace_reaches_the_api_metrics_port() -> None:
    ingress = resource("NetworkPolicy", "stepwise-api")["spec"]["ingress"]
    rules_by_port = {port["port"]: rule for rule in ingress for port in rule["ports"]}
    assert set(rules_by_port) == {"http", "metrics"}
    assert "from" not in rules_by_port["http"], "clients reach the API port from anywhere"
    assert rules_by_port["metrics"]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
