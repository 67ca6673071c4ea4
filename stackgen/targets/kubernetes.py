"""Kubernetes: a kustomize base (workloads + prometheus-operator resources) and one overlay per environment.

The base holds the design values from the spec. Each environment's overlay patches only what it
overrides: replicas and resources (a strategic-merge patch of the Deployment) and alert thresholds
(a JSON6902 patch of the PrometheusRule: a merge patch would replace its lists whole, so the overlay
would carry a copy of every rule and each new alert would show up in it). Dashboards produced by the
grafana target become ConfigMaps with the sidecar label.
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
    environment_alertmanager,
    gpu_resource,
    service_log_env,
    service_secret_files,
    volume_name,
    workload,
)
from stackgen.model.tracing_env import service_tracing_env
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import Probe, ResourceAmounts, Resources, Service
from stackgen.targets import k8s_prometheus, k8s_workload
from stackgen.targets.alertmanager.config import config as alertmanager_config
from stackgen.targets.alertmanager.config import template_files
from stackgen.targets.json_patch import pointer, replace_ops
from stackgen.targets.prometheus.rules import rule_groups_of
from stackgen.targets.scrape_endpoint import endpoint_settings

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
MONITORING_API = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG_FILE = "alertmanager-config.yaml"
# Notification templates travel as keys of the config Secret, which the operator mounts at this folder.
ALERTMANAGER_TEMPLATES_DIR = "alertmanager-templates"
OPERATOR_TEMPLATES_MOUNT = "/etc/alertmanager/config"


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
        scaling = spec.kubernetes.autoscaling.get(service.name)
        if scaling is not None and scaling.queue is not None:  # KEDA owns the HPA it creates
            base[f"{service.name}-scaledobject.yaml"] = k8s_workload.scaled_object(
                spec, service, scaling, _meta(spec, service.name, selector_labels(service)))
        elif scaling is not None:
            base[f"{service.name}-hpa.yaml"] = hpa(spec, service)
        for volume in service.volumes:
            base[f"{volume_name(service, volume)}-pvc.yaml"] = k8s_workload.persistent_volume_claim(
                _meta(spec, volume_name(service, volume), selector_labels(service)), volume)
        route = k8s_workload.ingress(spec, service, _meta(spec, service.name, selector_labels(service)))
        if route is not None:
            base[f"{service.name}-ingress.yaml"] = route
    base["alertmanager.yaml"] = alertmanager(spec)
    base |= k8s_prometheus.base_files(spec, _meta)
    for artifact in produced:
        folder, file = posixpath.split(artifact.path)
        if folder == names.GRAFANA_DASHBOARDS_DIR and file.endswith(".json"):
            base[f"{names.grafana_dashboard_config_map(file)}.yaml"] = dashboard_config_map(
                spec, file, artifact
            )
    out = [yaml_artifact(names.k8s_base_file(f), data, header) for f, data in base.items()]
    out.append(
        yaml_artifact(
            names.k8s_base_file(ALERTMANAGER_CONFIG_FILE),
            alertmanager_config(spec.alertmanager, OPERATOR_TEMPLATES_MOUNT), header
        )
    )
    out += template_files(spec.alertmanager, header, names.k8s_base_file(ALERTMANAGER_TEMPLATES_DIR))
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


def _amounts(amounts: ResourceAmounts, gpu: str) -> dict[str, Any]:
    out: dict[str, Any] = {"cpu": amounts.cpu, "memory": amounts.memory}
    if amounts.gpu:
        out[gpu] = amounts.gpu
    return out


def resources(res: Resources, gpu: str = "nvidia.com/gpu") -> dict[str, Any]:
    """Requests and limits; GPUs as the extended resource `gpu` (kubernetes.gpu_resource or the service's own)."""
    return {"requests": _amounts(res.requests, gpu), "limits": _amounts(res.limits, gpu)}


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
    security = workload(spec, service).security_context
    uid = security.run_as_user or k8s.run_as_user
    gid = security.run_as_group or uid
    read_only_root = k8s.read_only_root_filesystem if security.read_only_root_filesystem is None \
        else security.read_only_root_filesystem
    gpu = gpu_resource(spec, service)
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
    storage_volumes, storage_mounts = k8s_workload.storage(service)
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
        "resources": resources(service.resources, gpu),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": read_only_root,
            "runAsNonRoot": True,
        },
        # The service writes its log and temp files: writable emptyDirs under a read-only root.
        "volumeMounts": [*log_mounts, {"name": "tmp", "mountPath": "/tmp"}, *secret_mounts, *storage_mounts],
    }
    if service.probes.startup is not None:  # liveness and readiness start only once it has succeeded
        container["startupProbe"] = _probe(service.probes.startup)
    if service.command:
        container["args"] = list(service.command)
    if env:
        container["env"] = env
    pod_spec: dict[str, Any] = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": gid,
            "fsGroup": security.fs_group or gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [*log_volumes, {"name": "tmp", "emptyDir": {}}, *secret_volumes, *storage_volumes],
        **k8s_workload.placement(spec, service, gpu, selector_labels(service)),
    }
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
        **endpoint_settings(service),
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
    # alertmanager.replicas (the gossip cluster every target runs) wins over the older kubernetes-only setting.
    replicas = am.replicas if am.replicas > 1 else spec.kubernetes.alertmanager_replicas
    body: dict[str, Any] = {
        "replicas": replicas,
        "image": am.image,
        "version": am.image.rsplit(":", 1)[-1],
        "configSecret": names.alertmanager_config_secret(spec.name),
    }
    if volumes:
        body |= {"volumes": volumes, "volumeMounts": mounts}
    if am.replicas > 1:
        body["affinity"] = k8s_prometheus.anti_affinity(k8s_prometheus.ALERTMANAGER_POD_LABEL, spec.name)
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
                "files": [f"alertmanager.yaml={ALERTMANAGER_CONFIG_FILE}",
                          *(f"{t.name}.tmpl={ALERTMANAGER_TEMPLATES_DIR}/{t.name}.tmpl" for t in spec.alertmanager.templates)],
                "options": {"disableNameSuffixHash": True, "labels": _labels(spec)},
            }
        ],
    }


def prometheus_rule_target(service: Service) -> dict[str, str]:
    group, version = MONITORING_API.split("/")
    return {"group": group, "version": version, "kind": "PrometheusRule", "name": service.name}


def _rule_key(rule: dict[str, Any]) -> tuple[str, str]:
    key = "alert" if "alert" in rule else "record"
    return key, rule.get(key, "")


def _kept(base: list[dict[str, Any]], target: list[dict[str, Any]]) -> list[tuple[int, int]] | None:
    """(base index, target index) of each rule the environment keeps, when its rules are the base's with
    some left out (disabled alerts); None when they are not (the group is then replaced whole)."""
    pairs, j = [], 0
    for i, rule in enumerate(base):
        if j < len(target) and _rule_key(rule) == _rule_key(target[j]):
            pairs.append((i, j))
            j += 1
    return pairs if j == len(target) else None


def prometheus_rule_patch(stack: Stack, service: Service, env: Environment) -> list[dict[str, Any]]:
    """JSON6902 ops turning the base PrometheusRule's groups into the environment's: one `replace` per
    changed field (a threshold changes one `expr`), a `remove` per disabled alert (a group left empty goes
    too), each rule's run preceded by a `test` of its name, so the patch says which alert it changes and
    kustomize refuses it if the base's rules were reordered. Replaces come first, at the base's indexes;
    removals follow from the highest index down, so no removal shifts an index a later op names."""
    base = prometheus_rule(stack, service, None)["spec"]["groups"]
    target = prometheus_rule(stack, service, env)["spec"]["groups"]
    groups = pointer("spec", "groups")
    target_by_name = {group["name"]: group for group in target}
    kept_groups = [g for g, group in enumerate(base) if group["name"] in target_by_name]
    if [base[g]["name"] for g in kept_groups] != [group["name"] for group in target]:
        return [{"op": "replace", "path": groups, "value": target}]  # groups added or reordered: no smaller patch
    out: list[dict[str, Any]] = []
    removals: list[tuple[int, int]] = []  # (group, rule); rule -1: the whole group
    tested: set[tuple[int, int]] = set()

    def test(g: int, r: int) -> None:
        if (g, r) not in tested:
            tested.add((g, r))
            key, name = _rule_key(base[g]["rules"][r])
            out.append({"op": "test", "path": pointer("spec", "groups", g, "rules", r, key), "value": name})

    for g, group in enumerate(base):
        new = target_by_name.get(group["name"])
        if new is None:
            removals.append((g, -1))
            continue
        rules, new_rules = group.get("rules", []), new.get("rules", [])
        pairs = _kept(rules, new_rules)
        rest = {k: v for k, v in group.items() if k != "rules"}
        new_rest = {k: v for k, v in new.items() if k != "rules"}
        out += replace_ops(rest, new_rest, pointer("spec", "groups", g))
        if pairs is None:
            out.append({"op": "replace", "path": pointer("spec", "groups", g, "rules"), "value": new_rules})
            continue
        for r, t in pairs:
            ops = replace_ops(rules[r], new_rules[t], pointer("spec", "groups", g, "rules", r))
            if ops:
                test(g, r)
            out += ops
        kept = {r for r, _ in pairs}
        removals += [(g, r) for r in range(len(rules)) if r not in kept]
    for g, r in sorted(removals, reverse=True):  # rules (r >= 0) of a group sort before the group itself (-1)
        if r < 0:
            out += [{"op": "test", "path": pointer("spec", "groups", g, "name"), "value": base[g]["name"]},
                    {"op": "remove", "path": pointer("spec", "groups", g)}]
        else:
            test(g, r)
            out.append({"op": "remove", "path": pointer("spec", "groups", g, "rules", r)})
    return out


def overlay(stack: Stack, env: Environment, header: str) -> list[Artifact]:
    spec = stack.spec
    folder = names.k8s_overlay_dir(env.name)
    files: dict[str, Any] = {}
    targets: dict[str, dict[str, str]] = {}  # JSON6902 patches name their resource in the kustomization
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
                                "resources": {**resources(override.resources, gpu_resource(spec, service)),
                                              "$patch": "replace"},
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
        if rule_groups_of(stack, service):
            ops = prometheus_rule_patch(stack, service, env)
            if ops:
                files[f"{service.name}-prometheusrule-patch.yaml"] = ops
                targets[f"{service.name}-prometheusrule-patch.yaml"] = prometheus_rule_target(service)
    kustom: dict[str, Any] = {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "resources": ["../../base"],
    }
    if files:
        kustom["patches"] = [{"path": f, **({"target": targets[f]} if f in targets else {})} for f in sorted(files)]
    out = [yaml_artifact(f"{folder}/{f}", data, header) for f, data in files.items()]
    if env.routes:
        # A Secret's key holds the config as one string, which no patch can change in part: the overlay
        # carries the environment's whole config file, merged over the base Secret's `alertmanager.yaml`
        # key only (the template keys stay the base's).
        am = environment_alertmanager(spec.alertmanager, env)
        out.append(yaml_artifact(f"{folder}/{ALERTMANAGER_CONFIG_FILE}", alertmanager_config(am, OPERATOR_TEMPLATES_MOUNT),
                                 header))
        kustom["secretGenerator"] = [{
            "name": names.alertmanager_config_secret(spec.name),
            "behavior": "merge",
            "files": [f"alertmanager.yaml={ALERTMANAGER_CONFIG_FILE}"],
            "options": {"disableNameSuffixHash": True},
        }]
    out.append(yaml_artifact(f"{folder}/{names.KUSTOMIZATION}", kustom, header))
    return out
