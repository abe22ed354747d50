"""Typed models of the custom resources in k8s/ that the Kubernetes schemas do not cover.

kubernetes-validate knows only built-in kinds, so the KEDA and Prometheus Operator objects
are checked against these models, written from the CRDs' documented fields: every field
the CRD requires is required here, unknown fields are rejected (a misspelt key fails
instead of being silently ignored by the operator), and value types and formats follow
the CRDs (KEDA trigger metadata are strings; durations use Prometheus's format).
Only the fields Stepwise uses are modelled; a new field means extending the model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Duration = Annotated[
    str, StringConstraints(pattern=r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?)$")
]
"""A Prometheus duration (``30s``, ``5m``, ``1h30m``), as the operator's CRDs validate it."""
Labels = dict[str, str]


class Strict(BaseModel):
    """Unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class ObjectMeta(Strict):
    """The metadata Stepwise sets on its objects."""

    name: str = Field(min_length=1, max_length=253)
    namespace: str | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)


# --- KEDA ScaledObject (keda.sh/v1alpha1) ------------------------------------------------


class ScaleTargetRef(Strict):
    """What KEDA scales; ``name`` is required."""

    name: str = Field(min_length=1)
    apiVersion: str | None = None
    kind: str | None = None
    envSourceContainerName: str | None = None


class TemporalTriggerMetadata(Strict):
    """The Temporal scaler's parameters (KEDA >= 2.17): all strings, like every trigger's metadata."""

    taskQueue: str = Field(min_length=1)
    endpoint: str | None = None
    endpointFromEnv: str | None = None
    namespace: str | None = None
    queueTypes: (
        Annotated[str, StringConstraints(pattern=r"^(workflow|activity|nexus)(,(workflow|activity|nexus))*$")] | None
    ) = None
    targetQueueSize: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")] | None = None
    activationTargetQueueSize: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")] | None = None
    workerDeploymentName: str | None = None
    minConnectTimeout: str | None = None
    unsafeSsl: Literal["true", "false"] | None = None
    tlsServerName: str | None = None

    @model_validator(mode="after")
    def _one_endpoint(self) -> TemporalTriggerMetadata:
        if (self.endpoint is None) == (self.endpointFromEnv is None):
            raise ValueError("exactly one of endpoint and endpointFromEnv is required")
        return self


class AuthenticationRef(Strict):
    """A TriggerAuthentication by name."""

    name: str
    kind: Literal["TriggerAuthentication", "ClusterTriggerAuthentication"] | None = None


class TemporalTrigger(Strict):
    """One trigger; ``type`` and ``metadata`` are required by the CRD."""

    type: Literal["temporal"]
    metadata: TemporalTriggerMetadata
    name: str | None = None
    authenticationRef: AuthenticationRef | None = None


class HorizontalPodAutoscalerConfig(Strict):
    """Passed through to the HPA KEDA creates (``behavior`` is checked against HPA's schema)."""

    behavior: dict[str, object] | None = None
    name: str | None = None


class Advanced(Strict):
    """KEDA's advanced settings."""

    horizontalPodAutoscalerConfig: HorizontalPodAutoscalerConfig | None = None
    restoreToOriginalReplicaCount: bool | None = None


class ScaledObjectSpec(Strict):
    """``scaleTargetRef`` and ``triggers`` are required."""

    scaleTargetRef: ScaleTargetRef
    triggers: list[TemporalTrigger] = Field(min_length=1)
    minReplicaCount: int | None = Field(default=None, ge=0)
    maxReplicaCount: int | None = Field(default=None, ge=1)
    pollingInterval: int | None = Field(default=None, ge=1)
    cooldownPeriod: int | None = Field(default=None, ge=0)
    advanced: Advanced | None = None

    @model_validator(mode="after")
    def _replica_bounds(self) -> ScaledObjectSpec:
        low, high = self.minReplicaCount, self.maxReplicaCount
        if low is not None and high is not None and low > high:
            raise ValueError("minReplicaCount is above maxReplicaCount")
        return self


class ScaledObject(Strict):
    """keda.sh/v1alpha1 ScaledObject."""

    apiVersion: Literal["keda.sh/v1alpha1"]
    kind: Literal["ScaledObject"]
    metadata: ObjectMeta
    spec: ScaledObjectSpec


# --- Prometheus Operator (monitoring.coreos.com/v1) ---------------------------------------


class LabelSelector(Strict):
    """A label selector (matchExpressions are not used by Stepwise)."""

    matchLabels: Labels = Field(min_length=1)


class Endpoint(Strict):
    """One scrape endpoint of a ServiceMonitor: a named Service port."""

    port: str = Field(min_length=1)
    path: str = Field(default="/metrics", pattern=r"^/")
    interval: Duration | None = None
    scrapeTimeout: Duration | None = None
    honorLabels: bool | None = None
    scheme: Literal["http", "https"] | None = None


class ServiceMonitorSpec(Strict):
    """``selector`` is required; Stepwise always names its endpoints."""

    selector: LabelSelector
    endpoints: list[Endpoint] = Field(min_length=1)
    jobLabel: str | None = None


class ServiceMonitor(Strict):
    """monitoring.coreos.com/v1 ServiceMonitor."""

    apiVersion: Literal["monitoring.coreos.com/v1"]
    kind: Literal["ServiceMonitor"]
    metadata: ObjectMeta
    spec: ServiceMonitorSpec


class Rule(Strict):
    """An alerting or recording rule: exactly one of ``alert`` and ``record``; ``expr`` is required."""

    expr: str = Field(min_length=1)
    alert: str | None = None
    record: str | None = None
    for_: Duration | None = Field(default=None, alias="for")
    keep_firing_for: Duration | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _alert_or_record(self) -> Rule:
        if (self.alert is None) == (self.record is None):
            raise ValueError("exactly one of alert and record is required")
        if self.record is not None and (self.for_ is not None or self.annotations):
            raise ValueError("a recording rule takes no `for` and no annotations")
        return self


class RuleGroup(Strict):
    """A named group; ``name`` is required."""

    name: str = Field(min_length=1)
    interval: Duration | None = None
    rules: list[Rule] = Field(min_length=1)


class PrometheusRuleSpec(Strict):
    """The rule groups."""

    groups: list[RuleGroup] = Field(min_length=1)


class PrometheusRule(Strict):
    """monitoring.coreos.com/v1 PrometheusRule."""

    apiVersion: Literal["monitoring.coreos.com/v1"]
    kind: Literal["PrometheusRule"]
    metadata: ObjectMeta
    spec: PrometheusRuleSpec


CUSTOM_RESOURCES: dict[str, type[Strict]] = {
    "ScaledObject": ScaledObject,
    "ServiceMonitor": ServiceMonitor,
    "PrometheusRule": PrometheusRule,
}
"""Kind -> model, for every custom resource k8s/ may contain."""
