"""Deployment targets: the docker compose stack, Kubernetes manifests, and per-environment overrides.

The third-party servers' images, hosts and ports are not here: each lives in its own section
(`grafana`, `logging`, `tracing`; see stackgen.spec.server) and the deploy targets read it from there.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from stackgen.spec.alertmanager import ReceiverName
from stackgen.spec.kube import ExtendedResource, K8sName, LabelKey, LabelValue
from stackgen.spec.service import Resources
from stackgen.spec.slo import MAX_OBJECTIVE, SLOName
from stackgen.spec.types import (
    AlertName,
    Duration,
    HttpUrl,
    Matcher,
    MetricName,
    PositiveDuration,
    Replicas,
    ServiceName,
    Severity,
    StrictModel,
)
from stackgen.spec.workload import Workload

# A GPU as `docker run --gpus device=` names it: an index, or a GPU/MIG UUID from `nvidia-smi -L`.
GpuDevice = Annotated[str, Field(pattern=r"^(\d{1,3}|GPU-[0-9a-fA-F-]{8,}|MIG-[0-9a-fA-F/-]{8,})$")]


class ComposeService(StrictModel):
    """What only the local compose stack has for one service."""

    gpu_devices: list[GpuDevice] = Field(
        default_factory=list, description="the host GPUs it gets (device_ids: indexes or UUIDs from nvidia-smi -L); "
                                          "unset: any resources.limits.gpu GPUs (count)")

    @model_validator(mode="after")
    def _distinct(self) -> ComposeService:
        if len(set(self.gpu_devices)) != len(self.gpu_devices):
            raise ValueError("a GPU is listed twice in gpu_devices")
        return self


class Compose(StrictModel):
    """The local compose stack."""

    bind_address: str = Field(
        "127.0.0.1",
        pattern=r"^127\.\d+\.\d+\.\d+$",
        description="published ports bind here; a local stack never listens publicly",
    )
    elasticsearch_heap: Annotated[str, Field(pattern=r"^\d+[mg]$")] = Field(
        "1g", description="Elasticsearch's JVM heap (-Xms and -Xmx), e.g. 512m or 2g")
    services: dict[ServiceName, ComposeService] = Field(
        default_factory=dict, description="per service: what only the compose stack has (GPU device selection)")


class QueueScaling(StrictModel):
    """Scale on a queue-depth gauge of the contract through KEDA's Prometheus scaler."""

    metric: MetricName = Field(description="a gauge of the service's contract, e.g. the requests waiting")
    matchers: list[Matcher] = Field(default_factory=list, description="PromQL matchers narrowing the gauge")
    target: float = Field(gt=0, description="the queue depth each replica should carry: replicas = ceil(sum / target)")
    activation: float = Field(0, ge=0, description="KEDA's activationThreshold: below it the queue counts as empty")
    polling_interval: PositiveDuration = Field(Duration(30_000), description="how often KEDA queries Prometheus")
    cooldown: PositiveDuration = Field(Duration(300_000), description="KEDA's cooldownPeriod")

    @field_validator("polling_interval", "cooldown")
    @classmethod
    def _whole_seconds(cls, value: Duration) -> Duration:
        if value % 1000:
            raise ValueError(f"{value} is not a whole number of seconds, which KEDA counts in")
        return value


class Autoscaling(StrictModel):
    """A HorizontalPodAutoscaler on CPU, or, with `queue`, a KEDA ScaledObject (which owns its own HPA)."""

    min_replicas: Replicas = Field(description="the fewest replicas")
    max_replicas: Replicas = Field(description="the most replicas")
    cpu_utilization: int | None = Field(
        80, ge=1, le=100, description="target average CPU utilization, percent of requests.cpu; null: no CPU metric")
    queue: QueueScaling | None = Field(
        None, description="scale on queue depth with a KEDA ScaledObject (Prometheus scaler) instead of a plain HPA; "
                          "the CPU target, if any, becomes a second trigger")

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        if self.cpu_utilization is None and self.queue is None:
            raise ValueError("an autoscaler needs a metric: cpu_utilization, queue, or both")
        return self


class Kubernetes(StrictModel):
    """Kubernetes manifests and prometheus-operator resources."""

    namespace: K8sName = Field("monitoring-apps", description="the namespace of every generated resource")
    monitor_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="labels the Prometheus CR's serviceMonitorSelector matches on the ServiceMonitors",
    )
    rule_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="labels the Prometheus CR's ruleSelector matches on the PrometheusRules",
    )
    run_as_user: int = Field(10001, ge=1, description="non-root UID of the service containers")
    read_only_root_filesystem: bool = Field(
        True, description="the containers' root filesystem is read-only (emptyDirs for /tmp and the log folder)")
    autoscaling: dict[ServiceName, Autoscaling] = Field(
        default_factory=dict, description="a HorizontalPodAutoscaler (or KEDA ScaledObject) per named service"
    )
    gpu_resource: ExtendedResource = Field(
        "nvidia.com/gpu", description="the extended resource GPUs are requested as (the device plugin's name)")
    prometheus_url: HttpUrl = Field(
        "http://prometheus-operated.monitoring.svc:9090",
        description="the in-cluster Prometheus KEDA's Prometheus scaler queries (autoscaling.*.queue)")
    services: dict[ServiceName, Workload] = Field(
        default_factory=dict, description="per service: placement, GPU resource name, security context, Ingress")
    alertmanager_replicas: Replicas = Field(1, description="replicas of the operator's Alertmanager")


class AlertOverride(StrictModel):
    """What one environment changes of one alert; unset fields keep the base's."""

    enabled: bool = Field(True, description="false: the environment's overlay removes the alert")
    threshold: float | None = Field(None, description="the environment's threshold, in the alert's own unit")
    for_: Duration | None = Field(None, alias="for", description="the environment's `for` (how long the condition holds)")
    severity: Severity | None = Field(None, description="the environment's severity (routes by it change accordingly)")


class ServiceOverride(StrictModel):
    """What one environment changes for one service."""

    replicas: Replicas | None = Field(None, description="the environment's replica count")
    resources: Resources | None = Field(None, description="the environment's requests and limits (replace the base's)")
    alert_thresholds: dict[Annotated[str, Field(pattern=r"^[A-Z][a-zA-Z0-9]*$")], float] = Field(
        default_factory=dict, description="alert name -> threshold, in the alert's own unit (shorthand for "
                                          "alerts.<name>.threshold)"
    )
    alerts: dict[AlertName, AlertOverride] = Field(
        default_factory=dict, description="alert name -> what the environment changes of it: threshold, for, "
                                          "severity, or enabled: false to leave it out")
    slo_objectives: dict[SLOName, Annotated[float, Field(gt=0, le=MAX_OBJECTIVE)]] = Field(
        default_factory=dict, description="SLO name -> the environment's objective, percent of good events")


class RouteOverride(StrictModel):
    """One route of the Alertmanager tree, found by its matchers, delivering to another receiver."""

    matchers: list[Matcher] = Field(
        description="the route's matchers and its parent routes', exactly as the spec writes them (any order); "
                    "[] is the root route")
    receiver: ReceiverName = Field(description="the receiver the route delivers to in this environment")


class Environment(StrictModel):
    """A deployment environment: one kustomize overlay over the base (which holds the design values)."""

    name: K8sName = Field(description="the overlay's folder: k8s/overlays/<name>")
    services: dict[ServiceName, ServiceOverride] = Field(default_factory=dict, description="what it changes, per service")
    routes: list[RouteOverride] = Field(
        default_factory=list, description="routes delivering to another receiver in this environment; its "
                                          "overlay gets its own Alertmanager config and routing tests")
