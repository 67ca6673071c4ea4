"""Kubernetes: a kustomize base (workloads + prometheus-operator resources) and one overlay per environment.

The base holds the design values from the spec. Each environment's overlay patches only what it
overrides: replicas and resources (a strategic-merge patch of the Deployment) and alert thresholds
(a PrometheusRule patch carrying the environment's complete groups, since a merge patch replaces
lists whole). Dashboards produced by the grafana target become ConfigMaps with the sidecar label.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any

from stackgen.model import names
from stackgen.model.deploy import (
    SecretFile,
    alertmanager_secret_files,
    service_log_env,
    service_secret_files,
)
from stackgen.model.tracing_env import service_tracing_env
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import Probe, ResourceAmounts, Resources, Service
from stackgen.targets.alertmanager.config import config as alertmanager_config
from stackgen.targets.prometheus.rules import rule_groups_of

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
MONITORING_API = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG_FILE = "alertmanager-config.yaml"


def render(stack: Stack, produced: list[Artifact]) -> list[Artifact]:
    spec, header = stack.spec, names.header(stack.spec_name)
    base: dict[str, Any] = {"namespace.yaml": namespace(spec)}
    for service in spec.services:
        base[f"{service.name}-configmap.yaml"] = config_map(spec, service)
        base[f"{service.name}-deployment.yaml"] = deployment(spec, service)
        base[f"{service.name}-service.yaml"] = k8s_service(spec, service)
        base[f"{service.name}-pdb.yaml"] = pdb(spec, service)
        base[f"{service.name}-servicemonitor.yaml"] = service_monitor(spec, service)
        if rule_groups_of(stack, service):
            base[f"{service.name}-prometheusrule.yaml"] = prometheus_rule(stack, service, None)
        if service.name in spec.kubernetes.autoscaling:
            base[f"{service.name}-hpa.yaml"] = hpa(spec, service)
    base["alertmanager.yaml"] = alertmanager(spec)
    for artifact in produced:
        folder, file = posixpath.split(artifact.path)
        if folder == names.GRAFANA_DASHBOARDS_DIR and file.endswith(".json"):
            base[f"{names.grafana_dashboard_config_map(file)}.yaml"] = dashboard_config_map(
                spec, file, artifact
            )
    out = [yaml_artifact(names.k8s_base_file(f), data, header) for f, data in base.items()]
    out.append(
        yaml_artifact(
            names.k8s_base_file(ALERTMANAGER_CONFIG_FILE), alertmanager_config(spec.alertmanager), header
        )
    )
    out.append(
        yaml_artifact(names.k8s_base_file(names.KUSTOMIZATION), kustomization(spec, sorted(base)), header)
    )
    for env in spec.environments:
        out.extend(overlay(stack, env, header))
    return out


def selector_labels(service: Service) -> dict[str, str]:
    return {names.NAME_LABEL: service.name}


def _labels(spec: Spec, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {names.PART_OF_LABEL: spec.name, **(extra or {})}


def _meta(spec: Spec, name: str, labels: dict[str, str] | None = None, **more: Any) -> dict[str, Any]:
    return {"name": name, "namespace": spec.kubernetes.namespace, "labels": _labels(spec, labels), **more}


def namespace(spec: Spec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": spec.kubernetes.namespace, "labels": _labels(spec)},
    }


def service_env(spec: Spec, service: Service) -> dict[str, str]:
    """Non-secret configuration of the service container (a ConfigMap, read with envFrom).

    The same variables compose sets: `env`, the log folder (`logs.directory_env`), and the tracing
    section's environment.
    """
    return {
        **service.env,
        **service_log_env(service),
        **service_tracing_env(spec, service),
    }


def config_map(spec: Spec, service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, names.service_config_map(service.name), selector_labels(service)),
        "data": service_env(spec, service),
    }


def _probe(probe: Probe) -> dict[str, Any]:
    return {
        "httpGet": {"path": probe.path, "port": names.HTTP_PORT_NAME},
        "initialDelaySeconds": int(probe.initial_delay.seconds),
        "periodSeconds": max(1, int(probe.period.seconds)),
        "timeoutSeconds": max(1, int(probe.timeout.seconds)),
        "failureThreshold": probe.failure_threshold,
    }


def _amounts(amounts: ResourceAmounts) -> dict[str, Any]:
    out: dict[str, Any] = {"cpu": amounts.cpu, "memory": amounts.memory}
    if amounts.gpu:
        out["nvidia.com/gpu"] = amounts.gpu
    return out


def resources(res: Resources) -> dict[str, Any]:
    return {"requests": _amounts(res.requests), "limits": _amounts(res.limits)}


def _secret_volumes(prefix: str, secret: str, files: list[SecretFile]) -> tuple[list[Any], list[Any]]:
    """Volumes projecting a Secret's keys (named after the files) to the exact paths the config reads."""
    by_dir: dict[str, list[SecretFile]] = {}
    for f in files:
        by_dir.setdefault(posixpath.dirname(f.path), []).append(f)
    volumes, mounts = [], []
    for i, (folder, group) in enumerate(sorted(by_dir.items())):
        name = f"{prefix}-{i}"
        volumes.append(
            {
                "name": name,
                "secret": {
                    "secretName": secret,
                    "items": [{"key": f.name, "path": posixpath.basename(f.path)} for f in group],
                },
            }
        )
        mounts.append({"name": name, "mountPath": folder, "readOnly": True})
    return volumes, mounts


def deployment(spec: Spec, service: Service) -> dict[str, Any]:
    k8s = spec.kubernetes
    env_data = service_env(spec, service)
    checksum = hashlib.sha256(json.dumps(env_data, sort_keys=True).encode()).hexdigest()[:16]
    # An {env:} secret is a key of the service's Secret; a {file:} secret is projected at its path from that
    # Secret (key = file name), and the app learns the path through the NAME_FILE convention, as in compose.
    env = sorted(
        (
            {"name": var, "valueFrom": {"secretKeyRef": {"name": names.service_secret(service.name), "key": ref.env}}}
            if ref.env
            else {"name": names.secret_file_env(var), "value": ref.file}
            for var, ref in service.secret_env.items()
        ),
        key=lambda item: item["name"],
    )
    log_volumes: list[dict[str, Any]] = []
    log_mounts: list[dict[str, Any]] = []
    if service.logs is not None:  # at the log schema's folder, like compose
        log_volumes = [{"name": "logs", "emptyDir": {}}]
        log_mounts = [{"name": "logs", "mountPath": service.logs.directory}]
    secret_volumes, secret_mounts = _secret_volumes(
        "secrets", names.service_secret(service.name), service_secret_files(service)
    )
    container: dict[str, Any] = {
        "name": service.name,
        "image": str(service.image),
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": names.HTTP_PORT_NAME, "containerPort": service.ports.http, "protocol": "TCP"},
            {"name": names.METRICS_PORT_NAME, "containerPort": service.ports.metrics, "protocol": "TCP"},
        ],
        "envFrom": [{"configMapRef": {"name": names.service_config_map(service.name)}}],
        "livenessProbe": _probe(service.probes.liveness),
        "readinessProbe": _probe(service.probes.readiness),
        "resources": resources(service.resources),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": k8s.read_only_root_filesystem,
            "runAsNonRoot": True,
        },
        # The service writes its log and temp files: writable emptyDirs under a read-only root.
        "volumeMounts": [*log_mounts, {"name": "tmp", "mountPath": "/tmp"}, *secret_mounts],
    }
    if service.command:
        container["args"] = list(service.command)
    if env:
        container["env"] = env
    pod_spec: dict[str, Any] = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": k8s.run_as_user,
            "runAsGroup": k8s.run_as_user,
            "fsGroup": k8s.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [*log_volumes, {"name": "tmp", "emptyDir": {}}, *secret_volumes],
    }
    if service.gpu:
        pod_spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, service.name, selector_labels(service)),
        "spec": {
            "replicas": service.replicas,
            "selector": {"matchLabels": selector_labels(service)},
            "template": {
                "metadata": {
                    "labels": _labels(spec, selector_labels(service)),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(service.ports.metrics),
                        "prometheus.io/path": service.metrics_path,
                        "stackgen.io/config-checksum": checksum,
                    },
                },
                "spec": pod_spec,
            },
        },
    }


def k8s_service(spec: Spec, service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        # The team label is copied onto every scraped series by the ServiceMonitor's targetLabels.
        "metadata": _meta(spec, service.name, {**selector_labels(service), names.TEAM_LABEL: service.team}),
        "spec": {
            "selector": selector_labels(service),
            "ports": [
                {
                    "name": names.HTTP_PORT_NAME,
                    "port": service.ports.http,
                    "targetPort": names.HTTP_PORT_NAME,
                    "protocol": "TCP",
                },
                {
                    "name": names.METRICS_PORT_NAME,
                    "port": service.ports.metrics,
                    "targetPort": names.METRICS_PORT_NAME,
                    "protocol": "TCP",
                },
            ],
        },
    }


def pdb(spec: Spec, service: Service) -> dict[str, Any]:
    # maxUnavailable 1 (not minAvailable) so a single-replica environment can still drain nodes.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec, service.name, selector_labels(service)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(service)}},
    }


def hpa(spec: Spec, service: Service) -> dict[str, Any]:
    scaling = spec.kubernetes.autoscaling[service.name]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec, service.name, selector_labels(service)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scaling.cpu_utilization},
                    },
                }
            ],
        },
    }


def service_monitor(spec: Spec, service: Service) -> dict[str, Any]:
    endpoint = {
        "port": names.METRICS_PORT_NAME,
        "path": service.metrics_path,
        "interval": str(service.scrape_interval or spec.prometheus.scrape_interval),
    }
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": _meta(spec, service.name, {**selector_labels(service), **spec.kubernetes.monitor_labels}),
        "spec": {
            "selector": {"matchLabels": selector_labels(service)},
            "namespaceSelector": {"matchNames": [spec.kubernetes.namespace]},
            "endpoints": [endpoint],
            "targetLabels": [names.TEAM_LABEL],
        },
    }


def prometheus_rule(stack: Stack, service: Service, env: Environment | None) -> dict[str, Any]:
    spec = stack.spec
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": _meta(spec, service.name, {**selector_labels(service), **spec.kubernetes.rule_labels}),
        # Every group of every rule file of the service; env applies its alert thresholds.
        "spec": {"groups": rule_groups_of(stack, service, env)},
    }


def alertmanager(spec: Spec) -> dict[str, Any]:
    """The operator's Alertmanager: config from a Secret (kustomize-generated), credentials from another.

    The credentials Secret is created out of band from the git-ignored secrets/ folder and projected
    at the exact paths the config's *_file fields name, so the same alertmanager.yml works here and
    in compose.
    """
    am = spec.alertmanager
    volumes, mounts = _secret_volumes(
        "credentials", names.alertmanager_credentials_secret(spec.name), alertmanager_secret_files(spec)
    )
    body: dict[str, Any] = {
        "replicas": spec.kubernetes.alertmanager_replicas,
        "image": am.image,
        "version": am.image.rsplit(":", 1)[-1],
        "configSecret": names.alertmanager_config_secret(spec.name),
    }
    if volumes:
        body |= {"volumes": volumes, "volumeMounts": mounts}
    return {
        "apiVersion": MONITORING_API,
        "kind": "Alertmanager",
        "metadata": _meta(spec, spec.name),
        "spec": body,
    }


def dashboard_config_map(spec: Spec, file: str, artifact: Artifact) -> dict[str, Any]:
    key, value = names.GRAFANA_DASHBOARD_LABEL
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, names.grafana_dashboard_config_map(file), {key: value}),
        "data": {file: artifact.content},
    }


def kustomization(spec: Spec, resources_: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "namespace": spec.kubernetes.namespace,
        "resources": resources_,
        # The operator looks the Secret up by this exact name, so no hash suffix.
        "secretGenerator": [
            {
                "name": names.alertmanager_config_secret(spec.name),
                "files": [f"alertmanager.yaml={ALERTMANAGER_CONFIG_FILE}"],
                "options": {"disableNameSuffixHash": True, "labels": _labels(spec)},
            }
        ],
    }


def overlay(stack: Stack, env: Environment, header: str) -> list[Artifact]:
    spec = stack.spec
    folder = names.k8s_overlay_dir(env.name)
    files: dict[str, Any] = {}
    for service in spec.services:
        override = env.services.get(service.name)
        if override is None:
            continue
        if override.replicas is not None or override.resources is not None:
            patch_spec: dict[str, Any] = {}
            if override.replicas is not None:
                patch_spec["replicas"] = override.replicas
            if override.resources is not None:
                # `$patch: replace` so a resource the environment drops (a GPU) does not survive the merge.
                patch_spec["template"] = {
                    "spec": {
                        "containers": [
                            {
                                "name": service.name,
                                "resources": {**resources(override.resources), "$patch": "replace"},
                            }
                        ]
                    }
                }
            files[f"{service.name}-deployment-patch.yaml"] = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": service.name, "namespace": spec.kubernetes.namespace},
                "spec": patch_spec,
            }
        if override.alert_thresholds and rule_groups_of(stack, service):
            rule = prometheus_rule(stack, service, env)
            files[f"{service.name}-prometheusrule-patch.yaml"] = {
                "apiVersion": rule["apiVersion"],
                "kind": rule["kind"],
                "metadata": {"name": service.name, "namespace": spec.kubernetes.namespace},
                "spec": rule["spec"],
            }
    kustom: dict[str, Any] = {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "resources": ["../../base"],
    }
    if files:
        kustom["patches"] = [{"path": f} for f in sorted(files)]
    out = [yaml_artifact(f"{folder}/{f}", data, header) for f, data in files.items()]
    out.append(yaml_artifact(f"{folder}/{names.KUSTOMIZATION}", kustom, header))
    return out
