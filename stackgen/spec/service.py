"""A monitored service: how it runs, and the metric contract it promises to expose."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from stackgen.spec.alerts import Alert
from stackgen.spec.grafana import ServiceDashboards
from stackgen.spec.kube import Quantity, Size, quantity_bytes
from stackgen.spec.logs import ServiceLogs
from stackgen.spec.recording import RecordingRule
from stackgen.spec.scrape import Scrape
from stackgen.spec.slo import SLO, SLODependency
from stackgen.spec.types import (
    Duration,
    HostName,
    LabelName,
    MetricName,
    Port,
    PositiveDuration,
    Replicas,
    SecretRef,
    ServiceName,
    StrictModel,
)
from stackgen.spec.volumes import Volume


class Image(StrictModel):
    repository: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._/-]*(:\d+)?[a-z0-9._/-]*$")]
    tag: Annotated[str, Field(pattern=r"^[\w][\w.-]{0,127}$")]

    @field_validator("tag")
    @classmethod
    def _pinned(cls, tag: str) -> str:
        if tag in ("latest", "main", "master", "stable"):
            raise ValueError(f"image tag {tag!r} is not pinned: use an exact version such as '1.4.2'")
        return tag

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


# A relative path (absolute ones would tie generated files to one machine); '..' may leave the spec folder.
RelativePath = Annotated[str, Field(pattern=r"^[^/\s]\S*$")]
# The bundled service's Dockerfile (a Python image), relative to the repository root.
BUNDLED_DOCKERFILE = "service/Dockerfile"


class Build(StrictModel):
    context: RelativePath = Field(".", description="the build context, relative to the spec file's folder")
    dockerfile: RelativePath | None = Field(
        None, description="relative to the context; defaults to service/Dockerfile (the bundled service) when the "
                          "context is the spec folder, and to Dockerfile in a context of the service's own")

    @property
    def dockerfile_path(self) -> str:
        if self.dockerfile is not None:
            return self.dockerfile
        return BUNDLED_DOCKERFILE if self.context == "." else "Dockerfile"


class Healthcheck(StrictModel):
    """The compose health check: the health probe over HTTP with a tool the image has, a command, or none."""

    kind: Literal["http", "exec", "none"]
    tool: Literal["python", "curl", "wget"] | None = Field(
        None, description="http only: the HTTP client the image ships (distroless images ship none: use exec or none)")
    command: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="exec only: run in the container; exit status 0 means healthy")

    @model_validator(mode="after")
    def _consistent(self) -> Healthcheck:
        if self.kind == "http" and self.tool is None:
            raise ValueError("an http health check names the tool the image ships: python, curl or wget")
        if self.kind != "http" and self.tool is not None:
            raise ValueError(f"only an http health check has a tool, and this one is {self.kind}")
        if self.kind == "exec" and not self.command:
            raise ValueError("an exec health check names its command")
        if self.kind != "exec" and self.command:
            raise ValueError(f"only an exec health check has a command, and this one is {self.kind}")
        return self


class Ports(StrictModel):
    http: Port
    metrics: Port

    @model_validator(mode="after")
    def _distinct(self) -> Ports:
        if self.http == self.metrics:
            raise ValueError("http and metrics ports must differ")
        return self


class Probe(StrictModel):
    path: Annotated[str, Field(pattern=r"^/[\w./-]*$")]
    initial_delay: Duration = Duration(0)
    period: PositiveDuration = Duration(10_000)
    timeout: PositiveDuration = Duration(1000)
    failure_threshold: int = Field(3, ge=1)


class Probes(StrictModel):
    liveness: Probe
    readiness: Probe
    health: Probe = Field(description="the container health check (compose HEALTHCHECK)")
    startup: Probe | None = Field(
        None, description="the Kubernetes startupProbe: liveness and readiness wait until it succeeds, so a pod "
                          "loading its model for minutes is not killed; it may fail failure_threshold x period "
                          "after initial_delay before the pod is restarted")


class ResourceAmounts(StrictModel):
    cpu: Quantity
    memory: Quantity
    gpu: int = Field(0, ge=0, description="GPUs, as the resource kubernetes.gpu_resource names (nvidia.com/gpu)")


class Resources(StrictModel):
    requests: ResourceAmounts
    limits: ResourceAmounts
    gpu_memory: Quantity | None = Field(None, description=(
        "memory of each GPU (80Gi for an 80 GB A100/H100). No Kubernetes resource carries it: `stackgen lint` "
        "checks GPU-memory alerts against it (alert-threshold-at-limit)"))


class Metric(StrictModel):
    """One metric family of the contract. Label values must be bounded (no user input)."""

    name: MetricName
    type: Literal["counter", "gauge", "histogram", "summary"]
    help: Annotated[str, Field(min_length=1)]
    labels: list[LabelName] = Field(default_factory=list)
    buckets: list[float] | None = Field(None, description="upper bounds, increasing; histograms only")
    optional: bool = Field(False, description="may legitimately be absent (e.g. GPU gauges without a GPU); "
                                              "`stackgen lint --live` then warns instead of failing")
    cardinality: dict[LabelName, Annotated[int, Field(ge=1)] | Annotated[list[str | int], Field(min_length=1)]] = Field(
        default_factory=dict, description="per label: its values (a list) or how many there are (a number); "
                                          "`stackgen explain capacity` counts series from them")
    label_sets: int | None = Field(None, ge=1, description=(
        "how many label combinations the family exports per target, when fewer than the product of its labels' "
        "value counts (a route has few methods and statuses); `stackgen explain capacity` counts these"))

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        if self.type == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must end in _total (OpenMetrics naming)")
        if self.type == "histogram":
            if not self.buckets:
                raise ValueError("a histogram declares its buckets")
            if any(lower >= upper for lower, upper in zip(self.buckets, self.buckets[1:], strict=False)):
                raise ValueError("buckets must be strictly increasing")
        elif self.buckets is not None:
            raise ValueError(f"only histograms have buckets, and {self.name!r} is a {self.type}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("duplicate label name")
        for reserved in ("le", "quantile", "job", "instance"):
            if reserved in self.labels:
                raise ValueError(f"label {reserved!r} is reserved by Prometheus")
        if undeclared := sorted(set(self.cardinality) - set(self.labels)):
            raise ValueError(f"cardinality names {undeclared[0]!r}, which is not one of the metric's labels")
        for label, values in self.cardinality.items():
            if isinstance(values, list) and len({str(v) for v in values}) != len(values):
                raise ValueError(f"cardinality of {label!r} lists a value twice")
        if self.label_sets is not None:
            if not self.labels:
                raise ValueError("label_sets needs labels: a family without labels exports one label set")
            counts = [self.label_values(label) for label in self.labels]
            if None not in counts and self.label_sets > math.prod(counts):  # type: ignore[arg-type]
                raise ValueError(f"label_sets ({self.label_sets}) exceeds the {math.prod(counts)} combinations "  # type: ignore[arg-type]
                                 f"its labels' cardinality allows")
        return self

    def label_values(self, label: str) -> int | None:
        """How many values `label` takes, when the contract says."""
        declared = self.cardinality.get(label)
        return len(declared) if isinstance(declared, list) else declared

    def series_names(self) -> list[str]:
        """The sample names Prometheus stores for this family."""
        if self.type == "histogram":
            return [f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"]
        if self.type == "summary":
            return [self.name, f"{self.name}_sum", f"{self.name}_count"]
        return [self.name]


class Service(StrictModel):
    name: ServiceName
    description: str = ""
    team: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")] = Field(description="owning team, an alert label")
    host: HostName | None = Field(None, description="scrape host name; defaults to the service name (compose/k8s DNS)")
    image: Image
    build: Build | None = None
    healthcheck: Healthcheck | None = Field(
        None, description="the compose health check; unset: the Python probe for the bundled service's image "
                          "(built from service/Dockerfile), none for any other image")
    command: list[str] = Field(default_factory=list)
    ports: Ports
    gpu: bool = False
    replicas: Replicas = 1
    resources: Resources
    probes: Probes
    env: dict[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")], str] = Field(default_factory=dict)
    secret_env: dict[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")], SecretRef] = Field(
        default_factory=dict, description="environment from secrets; a {file: PATH} entry NAME also sets NAME_FILE=PATH")
    not_secret: list[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]] = Field(
        default_factory=list, description="env keys whose name only looks like a secret's (PAD_TOKEN): the secret-name "
                                          "rule skips them; their values are still checked for credential formats")
    metrics_path: Annotated[str, Field(pattern=r"^/[\w./-]*$")] = "/metrics"
    openapi: Annotated[str, Field(pattern=r"^[^/\s][^\s]*\.json$")] | None = Field(
        None, description="the service's OpenAPI document (JSON), relative to the spec file; "
                          "`stackgen lint` checks every probe path exists in it")
    scrape_interval: PositiveDuration | None = None
    scrape: Scrape = Field(default_factory=Scrape, description="the scrape job's timeout, scheme, TLS, credentials, "
                                                            "relabeling and extra target labels")
    metrics: list[Metric] = Field(min_length=1, description="the metric contract")
    recording_rules: list[RecordingRule] = Field(
        default_factory=list, description="recording rules; alerts, panels and SLOs use them like contract metrics")
    alerts: list[Alert] = Field(default_factory=list)
    slos: list[SLO] = Field(default_factory=list)
    depends_on: list[SLODependency] = Field(
        default_factory=list, description="what this service needs to answer; `stackgen lint` flags an availability "
                                          "SLO above what its hard dependencies allow (docs/slo.md)")
    dashboards: ServiceDashboards = Field(default_factory=ServiceDashboards)
    logs: ServiceLogs | None = None
    volumes: list[Volume] = Field(
        default_factory=list, description="persistent storage (a model cache): a PersistentVolumeClaim in Kubernetes, "
                                          "a named volume in compose")
    shm_size: Size | None = Field(
        None, description="size of /dev/shm (PyTorch data loaders and NCCL use it; Docker's default is 64M): compose "
                          "shm_size, and in Kubernetes an emptyDir with medium Memory, which counts against "
                          "limits.memory")

    @model_validator(mode="after")
    def _storage(self) -> Service:
        names_, mounts = set(), set()
        for volume in self.volumes:
            if volume.name in names_:
                raise ValueError(f"volume name {volume.name!r} is used twice")
            if volume.mount in mounts:
                raise ValueError(f"two volumes are mounted at {volume.mount}")
            names_.add(volume.name)
            mounts.add(volume.mount)
            if self.logs is not None and volume.mount == self.logs.directory:
                raise ValueError(f"volume {volume.name!r} is mounted at the log folder {volume.mount}, "
                                 "which stackgen mounts for Logstash")
        if self.shm_size is not None and quantity_bytes(self.shm_size) >= quantity_bytes(self.resources.limits.memory):
            raise ValueError(f"shm_size {self.shm_size} is not below limits.memory {self.resources.limits.memory}: "
                             "/dev/shm is memory, and the container would be killed before filling it")
        return self

    def metric(self, name: str) -> Metric | None:
        """A contract metric, or a recording rule's series described as one."""
        found = next((m for m in self.metrics if m.name == name), None)
        if found is not None:
            return found
        rule = next((r for r in self.recording_rules if r.record == name), None)
        if rule is None:
            return None
        # Built without validation: a recorded counter is named level:metric:operations, not *_total.
        return Metric.model_construct(name=rule.record, type=rule.type, help=rule.help, labels=list(rule.labels),
                                      buckets=None, optional=False, cardinality={}, label_sets=None)
