"""Where and how a service's pods run in Kubernetes: placement, security context, GPU resource and Ingress.

`kubernetes.services.<name>`: the service section says what the service is (compose and Kubernetes
alike); this says what only a cluster has. The rules the API server enforces beyond the OpenAPI
schema (operator/value pairs, tolerationSeconds only with NoExecute) are checked here, at the line.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from stackgen.spec.kube import ExtendedResource, K8sName, LabelKey, LabelValue
from stackgen.spec.types import StrictModel


class Toleration(StrictModel):
    """A taint the pods tolerate (GPU node pools are usually tainted)."""

    key: LabelKey | None = Field(None, description="the taint key; unset with operator Exists: every taint")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="Equal matches key=value, Exists any value")
    value: LabelValue | None = Field(None, description="the taint value (Equal only)")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="the taint effect tolerated; unset: all effects")
    seconds: int | None = Field(None, ge=0, description="NoExecute only: how long the pod stays after the taint appears")

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("an Exists toleration matches any value: leave value out")
        if self.operator == "Equal" and self.key is None:
            raise ValueError("an Equal toleration names the taint key")
        if self.seconds is not None and self.effect != "NoExecute":
            raise ValueError("seconds (tolerationSeconds) applies to the NoExecute effect only")
        return self


class NodeRequirement(StrictModel):
    """One node label requirement (a nodeSelectorRequirement)."""

    key: LabelKey = Field(description="node label key, e.g. nvidia.com/gpu.product")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = Field(description="how the label is compared")
    values: list[LabelValue] = Field(default_factory=list, description="In/NotIn: one or more; Gt/Lt: one integer; "
                                                                       "Exists/DoesNotExist: none")

    @model_validator(mode="after")
    def _consistent(self) -> NodeRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs values")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        if self.operator in ("Gt", "Lt") and (len(self.values) != 1 or not re.fullmatch(r"-?\d+", self.values[0])):
            raise ValueError(f"operator {self.operator} takes exactly one integer value")
        if len(set(self.values)) != len(self.values):
            raise ValueError("a value is listed twice")
        return self


class PreferredNodes(StrictModel):
    """Nodes the scheduler prefers, weighted against other preferences."""

    weight: int = Field(ge=1, le=100, description="1-100; higher wins")
    match: list[NodeRequirement] = Field(min_length=1, description="all must hold")


class Affinity(StrictModel):
    """Node affinity (required and preferred node labels) and spreading the replicas across nodes."""

    nodes: list[NodeRequirement] = Field(
        default_factory=list, description="node labels every pod requires (all must hold; requiredDuringScheduling)")
    preferred_nodes: list[PreferredNodes] = Field(
        default_factory=list, description="node labels preferred (preferredDuringScheduling)")
    spread: Literal["none", "preferred", "required"] = Field(
        "none", description="pod anti-affinity between the service's own replicas on kubernetes.io/hostname: "
                            "preferred spreads when it can, required never places two on one node")


def _pod_security_value(value: int) -> int:
    if value == 0:
        raise ValueError("0 is root: the pods run as a non-root user")
    return value


NonRootId = Annotated[int, Field(ge=0, le=2**31 - 1), AfterValidator(_pod_security_value)]


class SecurityContext(StrictModel):
    """The service's user, groups and root filesystem; privilege escalation stays off and all capabilities dropped."""

    run_as_user: NonRootId | None = Field(None, description="UID; unset: kubernetes.run_as_user")
    run_as_group: NonRootId | None = Field(None, description="GID; unset: the UID")
    fs_group: NonRootId | None = Field(None, description="group owning mounted volumes; unset: the GID")
    read_only_root_filesystem: bool | None = Field(
        None, description="unset: kubernetes.read_only_root_filesystem")


def _ingress_host(host: str) -> str:
    # Kubernetes' rule: a DNS subdomain, optionally with a leading '*.' label; never an IP address.
    bare = host.removeprefix("*.")
    if len(host) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", bare):
        raise ValueError(f"{host!r} is not an Ingress host: a lower-case DNS name, optionally starting with '*.'")
    if re.fullmatch(r"[\d.]+", bare):
        raise ValueError(f"{host!r}: an Ingress host is a DNS name, not an IP address")
    return host


class Ingress(StrictModel):
    """An Ingress routing a host (and path) to the service's http port, TLS-terminated with a Secret you create."""

    host: Annotated[str, AfterValidator(_ingress_host)] = Field(description="the DNS name clients use")
    path: Annotated[str, Field(pattern=r"^/[\w./-]*$")] = Field("/", description="the path routed to the service")
    path_type: Literal["Prefix", "Exact"] = Field("Prefix", description="how path matches")
    class_name: K8sName | None = Field(None, description="ingressClassName; unset: the cluster's default class")
    tls_secret: K8sName | None = Field(
        None, description="name of the kubernetes.io/tls Secret holding the certificate (created out of band, as "
                          "other secrets are: nothing secret is generated); unset: plain HTTP")
    annotations: dict[LabelKey, str] = Field(
        default_factory=dict, description="controller settings, e.g. nginx.ingress.kubernetes.io/proxy-read-timeout "
                                          "for long requests")


class Workload(StrictModel):
    """What only a cluster has for one service."""

    node_selector: dict[LabelKey, LabelValue] = Field(
        default_factory=dict, description="node labels the pods require (nodeSelector)")
    tolerations: list[Toleration] | None = Field(
        None, description="the pods' tolerations; unset: a GPU service tolerates the usual GPU pool taint "
                          "<vendor>/gpu:NoSchedule (nvidia.com/gpu, from gpu_resource), others none; [] tolerates none")
    affinity: Affinity | None = Field(None, description="node affinity and replica spreading")
    gpu_resource: ExtendedResource | None = Field(
        None, description="the resource its GPUs are requested as (amd.com/gpu, nvidia.com/mig-1g.10gb); "
                          "unset: kubernetes.gpu_resource")
    security_context: SecurityContext = Field(
        default_factory=SecurityContext, description="user, groups and root filesystem of its pods")
    ingress: Ingress | None = Field(None, description="expose the http port through an Ingress")
