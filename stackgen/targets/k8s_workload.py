"""Kubernetes pieces of a service beyond its Deployment's core: placement, storage, Ingress and KEDA autoscaling.

Each function returns one manifest (or one part of the pod spec) from `kubernetes.services.<name>`,
the service's `volumes`/`shm_size` and `kubernetes.autoscaling.<name>.queue`; kubernetes.py places
them. Only what the spec sets is written, so a service without these settings renders as before.
"""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.model.deploy import volume_name, workload
from stackgen.model.promql import number, selector
from stackgen.spec.deploy import Autoscaling
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.volumes import Volume
from stackgen.spec.workload import NodeRequirement, Toleration

KEDA_API = "keda.sh/v1alpha1"
SHM_VOLUME = "dshm"
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"


def _requirement(req: NodeRequirement) -> dict[str, Any]:
    out: dict[str, Any] = {"key": req.key, "operator": req.operator}
    if req.values:
        out["values"] = list(req.values)
    return out


def _toleration(tol: Toleration) -> dict[str, Any]:
    out: dict[str, Any] = {"operator": tol.operator}
    for field, key in (("key", "key"), ("value", "value"), ("effect", "effect"), ("seconds", "tolerationSeconds")):
        if (value := getattr(tol, field)) is not None:
            out[key] = value
    return out


def placement(spec: Spec, service: Service, gpu_resource: str, own_pods: dict[str, str]) -> dict[str, Any]:
    """nodeSelector, tolerations and affinity of the pod spec (only the keys that are set)."""
    work = workload(spec, service)
    out: dict[str, Any] = {}
    if work.node_selector:
        out["nodeSelector"] = dict(work.node_selector)
    if work.tolerations is not None:
        if work.tolerations:
            out["tolerations"] = [_toleration(t) for t in work.tolerations]
    elif service.gpu:  # GPU node pools are tainted <vendor>/gpu (nvidia.com/gpu), MIG slices included
        taint = f"{gpu_resource.split('/', 1)[0]}/gpu"
        out["tolerations"] = [{"key": taint, "operator": "Exists", "effect": "NoSchedule"}]
    affinity: dict[str, Any] = {}
    if (aff := work.affinity) is not None:
        node: dict[str, Any] = {}
        if aff.nodes:
            node["requiredDuringSchedulingIgnoredDuringExecution"] = {
                "nodeSelectorTerms": [{"matchExpressions": [_requirement(r) for r in aff.nodes]}]
            }
        if aff.preferred_nodes:
            node["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": p.weight, "preference": {"matchExpressions": [_requirement(r) for r in p.match]}}
                for p in aff.preferred_nodes
            ]
        if node:
            affinity["nodeAffinity"] = node
        term = {"labelSelector": {"matchLabels": dict(own_pods)}, "topologyKey": HOSTNAME_TOPOLOGY}
        if aff.spread == "required":
            affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
        elif aff.spread == "preferred":
            affinity["podAntiAffinity"] = {
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]
            }
    if affinity:
        out["affinity"] = affinity
    return out


def storage(service: Service) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pod volumes and container mounts for the service's claims and its /dev/shm."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for volume in service.volumes:
        claim: dict[str, Any] = {"claimName": volume_name(service, volume)}
        mount: dict[str, Any] = {"name": volume.name, "mountPath": volume.mount}
        if volume.read_only:
            claim["readOnly"] = True
            mount["readOnly"] = True
        volumes.append({"name": volume.name, "persistentVolumeClaim": claim})
        mounts.append(mount)
    if service.shm_size is not None:
        volumes.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": service.shm_size}})
        mounts.append({"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    return volumes, mounts


def persistent_volume_claim(metadata: dict[str, Any], volume: Volume) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [volume.access_mode], "resources": {"requests": {"storage": volume.size}}}
    if volume.storage_class is not None:
        spec["storageClassName"] = volume.storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}


def ingress(spec: Spec, service: Service, metadata: dict[str, Any]) -> dict[str, Any] | None:
    route = workload(spec, service).ingress
    if route is None:
        return None
    if route.annotations:
        metadata = {**metadata, "annotations": dict(route.annotations)}
    body: dict[str, Any] = {}
    if route.class_name is not None:
        body["ingressClassName"] = route.class_name
    if route.tls_secret is not None:
        body["tls"] = [{"hosts": [route.host], "secretName": route.tls_secret}]
    backend = {"service": {"name": service.name, "port": {"name": names.HTTP_PORT_NAME}}}
    body["rules"] = [
        {"host": route.host, "http": {"paths": [{"path": route.path, "pathType": route.path_type, "backend": backend}]}}
    ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": body}


def queue_query(spec: Spec, service: Service, scaling: Autoscaling) -> str:
    """The total queue of the service's pods in its namespace (the ServiceMonitor's job and namespace labels)."""
    queue = scaling.queue
    assert queue is not None
    matchers = [f'namespace="{spec.kubernetes.namespace}"', *map(str, queue.matchers)]
    return f"sum({selector(queue.metric, matchers, names.job_name(service.name))})"


def scaled_object(spec: Spec, service: Service, scaling: Autoscaling, metadata: dict[str, Any]) -> dict[str, Any]:
    """A KEDA ScaledObject: the Prometheus scaler on the queue (AverageValue: replicas = ceil(total / target)),
    and the CPU target as a second trigger; KEDA creates and owns the HPA, so none is rendered beside it."""
    queue = scaling.queue
    assert queue is not None
    triggers: list[dict[str, Any]] = [
        {
            "type": "prometheus",
            "name": "queue-depth",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": spec.kubernetes.prometheus_url,
                "query": queue_query(spec, service, scaling),
                "threshold": number(queue.target),
                "activationThreshold": number(queue.activation),
            },
        }
    ]
    if scaling.cpu_utilization is not None:
        triggers.append({"type": "cpu", "name": "cpu", "metricType": "Utilization",
                         "metadata": {"value": str(scaling.cpu_utilization)}})
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "pollingInterval": int(queue.polling_interval.seconds),
            "cooldownPeriod": int(queue.cooldown.seconds),
            "triggers": triggers,
        },
    }
