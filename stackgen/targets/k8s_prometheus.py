"""prometheus-operator resources for a stack that scales its monitoring: a `Prometheus` with replicas, shards,
the replica external label and remote write; anti-affinity and a PodDisruptionBudget for it and for a
replicated Alertmanager. Rendered only when the spec asks for more than one server or for remote write, so
a default stack keeps relying on the cluster's existing Prometheus (kube-prometheus-stack)."""

from __future__ import annotations

import posixpath
from typing import Any

from stackgen.spec.models import Spec
from stackgen.spec.prometheus import RemoteWrite
from stackgen.targets.prometheus.config import relabel

MONITORING_API = "monitoring.coreos.com/v1"
# The operator labels the pods it runs with the resource's name under these keys.
PROMETHEUS_POD_LABEL = "prometheus"
ALERTMANAGER_POD_LABEL = "alertmanager"


def wanted(spec: Spec) -> bool:
    prom = spec.prometheus
    return prom.servers > 1 or bool(prom.remote_write)


def credentials_secret(stack_name: str) -> str:
    """Created out of band from secrets/ (like the Alertmanager's); the operator mounts it under
    /etc/prometheus/secrets/<name>/ and resolves basicAuth keys from it."""
    return f"prometheus-{stack_name}-credentials"


def anti_affinity(label: str, value: str) -> dict[str, Any]:
    """Replicas preferably on different nodes: one node's loss must not take the whole HA pair/cluster."""
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {label: value}}}}]}}


def pdb(meta: dict[str, Any], label: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {label: value}}}}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


def remote_write(spec: Spec, rw: RemoteWrite) -> dict[str, Any]:
    secret = credentials_secret(spec.name)
    out: dict[str, Any] = {"url": rw.url}
    if rw.name is not None:
        out["name"] = rw.name
    if rw.remote_timeout is not None:
        out["remoteTimeout"] = str(rw.remote_timeout)
    if rw.basic_auth is not None:  # the operator reads basic auth only from Secret keys
        key = posixpath.basename(rw.basic_auth.password.file or "")
        out["basicAuth"] = {"username": {"name": secret, "key": f"{key}-username"}, "password": {"name": secret, "key": key}}
    if rw.authorization is not None:
        key = posixpath.basename(rw.authorization.credentials.file or "")
        out["authorization"] = {"type": rw.authorization.type,
                                "credentialsFile": f"/etc/prometheus/secrets/{secret}/{key}"}
    if rw.queue_config is not None:
        out["queueConfig"] = {_camel(k): str(v) if k.endswith(("_deadline", "_backoff")) else v
                              for k, v in rw.queue_config.model_dump(exclude_none=True).items()}
    if rw.write_relabel_configs:
        out["writeRelabelConfigs"] = [{_camel(k): v for k, v in relabel(r).items()}
                                      for r in rw.write_relabel_configs]
    return out


def prometheus(spec: Spec, meta: dict[str, Any]) -> dict[str, Any]:
    prom, k8s = spec.prometheus, spec.kubernetes
    body: dict[str, Any] = {
        "replicas": prom.replicas,
        "shards": prom.shards,
        "replicaExternalLabelName": prom.replica_label,
        "image": prom.image,
        "version": prom.image.rsplit(":", 1)[-1],
        "scrapeInterval": str(prom.scrape_interval),
        "evaluationInterval": str(prom.evaluation_interval),
        "retention": f"{int(prom.retention.seconds // 86400)}d" if prom.retention % 86_400_000 == 0 else str(prom.retention),
        "serviceMonitorSelector": {"matchLabels": dict(k8s.monitor_labels)},
        "serviceMonitorNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": k8s.namespace}},
        "ruleSelector": {"matchLabels": dict(k8s.rule_labels)},
        "ruleNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": k8s.namespace}},
        "alerting": {"alertmanagers": [{"namespace": k8s.namespace, "name": "alertmanager-operated", "port": "web"}]},
        "affinity": anti_affinity(PROMETHEUS_POD_LABEL, spec.name),
    }
    if prom.external_labels:
        body["externalLabels"] = dict(prom.external_labels)
    if prom.remote_write:
        body["remoteWrite"] = [remote_write(spec, rw) for rw in prom.remote_write]
        if prom.remote_write_files():
            body["secrets"] = [credentials_secret(spec.name)]
    return {"apiVersion": MONITORING_API, "kind": "Prometheus", "metadata": meta, "spec": body}


def base_files(spec: Spec, meta) -> dict[str, dict[str, Any]]:  # noqa: ANN001 - the kubernetes target's _meta
    """file name in the base -> resource."""
    out: dict[str, dict[str, Any]] = {}
    if wanted(spec):
        out["prometheus.yaml"] = prometheus(spec, meta(spec, spec.name))
        out["prometheus-pdb.yaml"] = pdb(meta(spec, f"prometheus-{spec.name}"), PROMETHEUS_POD_LABEL, spec.name)
    if spec.alertmanager.replicas > 1:
        out["alertmanager-pdb.yaml"] = pdb(meta(spec, f"alertmanager-{spec.name}"), ALERTMANAGER_POD_LABEL, spec.name)
    return out


