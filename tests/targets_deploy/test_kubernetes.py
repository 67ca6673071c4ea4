"""Kubernetes base and overlays: content from the spec, operator wiring, and failing broken references."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.checks import kubernetes as k8s_check
from stackgen.diagnostics import SpecError
from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets import kubernetes

BASE = Path(names.K8S_BASE_DIR)


def _doc(root: Path, rel: str) -> dict:
    return yaml.safe_load((root / rel).read_text())


def _build(root: Path, folder: str) -> list[dict]:
    out = subprocess.run(
        ["kubectl", "kustomize", folder], cwd=root, capture_output=True, text=True, check=True
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_deployment_follows_the_design(rendered):
    dep = _doc(rendered, f"{BASE}/fugatto-audio-lab-deployment.yaml")
    assert dep["spec"]["replicas"] == 3
    pod = dep["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8001"
    (container,) = pod["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["initialDelaySeconds"] == 60
    assert container["resources"]["limits"] == {"cpu": "4000m", "memory": "8Gi", "nvidia.com/gpu": 1}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    # logs.directory, the read-only root's /tmp, the model cache and the memory-backed /dev/shm
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/app/logs", "/tmp", "/models", "/dev/shm"}
    assert container["startupProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] == 600
    assert container["envFrom"] == [{"configMapRef": {"name": "fugatto-audio-lab-config"}}]
    config = _doc(rendered, f"{BASE}/fugatto-audio-lab-configmap.yaml")
    assert (
        config["data"]["LOG_LEVEL"] == "INFO" and config["data"]["FUGATTO_LOG_DIR"] == "/app/logs"
    )


def test_compose_and_kubernetes_get_the_same_tracing_env_from_the_tracing_section(rendered, stack):
    from stackgen.model.tracing_env import service_tracing_env

    service = stack.spec.services[0]
    expected = service_tracing_env(stack.spec, service)
    assert expected["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318" and expected["TRACING_ENABLED"] == "true"
    config = _doc(rendered, f"{BASE}/fugatto-audio-lab-configmap.yaml")["data"]
    compose_env = _doc(rendered, names.COMPOSE_FILE)["services"][service.name]["environment"]
    for env in (config, compose_env):
        assert {k: v for k, v in env.items() if k in names.TRACING_ENV_VARS} == expected
    # tracing off: only the switch, in both
    off = stack.spec.model_copy(update={"tracing": stack.spec.tracing.model_copy(update={"enabled": False})})
    assert kubernetes.service_env(off, service)["TRACING_ENABLED"] == "false"
    assert not any(k.startswith("OTEL_") for k in kubernetes.service_env(off, service))


def test_env_setting_a_tracing_variable_is_an_input_error(spec_variant):
    spec = spec_variant(("      LOG_LEVEL: INFO\n", "      LOG_LEVEL: INFO\n      OTEL_SERVICE_NAME: audio\n"))
    with pytest.raises(SpecError) as err:
        load_stack(spec)
    message = str(err.value)
    assert "services[0].env.OTEL_SERVICE_NAME" in message and "set by the tracing section" in message


def test_operator_resources_carry_the_spec_labels_and_the_generated_rules(rendered, stack):
    monitor = _doc(rendered, f"{BASE}/fugatto-audio-lab-servicemonitor.yaml")
    service = _doc(rendered, f"{BASE}/fugatto-audio-lab-service.yaml")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    rule = _doc(rendered, f"{BASE}/fugatto-audio-lab-prometheusrule.yaml")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"]["groups"] == (_doc(rendered, names.alert_rules_file("fugatto-audio-lab"))["groups"]
                                      + _doc(rendered, names.slo_rules_file("fugatto-audio-lab"))["groups"])


def test_alertmanager_config_is_a_secret_reference_with_credentials_at_the_configs_paths(rendered):
    am = _doc(rendered, f"{BASE}/alertmanager.yaml")
    assert am["spec"]["configSecret"] == "alertmanager-fugatto-config"
    assert am["spec"]["volumes"][0]["secret"]["secretName"] == "alertmanager-fugatto-credentials"
    assert am["spec"]["volumeMounts"][0]["mountPath"] == "/etc/alertmanager/secrets"
    config_text = (rendered / BASE / "alertmanager-config.yaml").read_text()
    assert "auth_password_file: /etc/alertmanager/secrets/smtp-password" in config_text
    kustomization = _doc(rendered, f"{BASE}/kustomization.yaml")
    # Notification templates are keys of the config Secret: the operator mounts them at /etc/alertmanager/config.
    assert kustomization["secretGenerator"][0]["files"] == ["alertmanager.yaml=alertmanager-config.yaml",
                                                            "fugatto.tmpl=alertmanager-templates/fugatto.tmpl"]


def test_dev_overlay_patches_replicas_resources_and_thresholds(rendered):
    dev = {d["kind"]: d for d in _build(rendered, "k8s/overlays/dev")}
    assert dev["Deployment"]["spec"]["replicas"] == 1
    assert (
        dev["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        == "4Gi"
    )
    rules = {r["alert"]: r for r in dev["PrometheusRule"]["spec"]["groups"][0]["rules"]}
    assert rules["HighErrorRate"]["expr"].split("\nand\n")[0].endswith("> 0.2")
    assert rules["HighResponseTime"]["expr"].endswith(") > 30")
    assert rules["HighGPUUtilization"]["expr"].endswith("> 95")  # not overridden
    prod = {d["kind"]: d for d in _build(rendered, "k8s/overlays/prod")}
    assert prod["Deployment"]["spec"]["replicas"] == 3
    assert (
        prod["PrometheusRule"]["spec"]["groups"]
        == _doc(rendered, names.alert_rules_file("fugatto-audio-lab"))["groups"]
        + _doc(rendered, names.slo_rules_file("fugatto-audio-lab"))["groups"]
    )
    assert "patches" not in _doc(rendered, "k8s/overlays/prod/kustomization.yaml")


def test_environment_dropping_the_gpu_removes_it(tmp_path, spec_variant):
    spec = spec_variant(
        ("requests: {cpu: 500m, memory: 1Gi, gpu: 1}", "requests: {cpu: 500m, memory: 1Gi}"),
        ("limits: {cpu: 2000m, memory: 4Gi, gpu: 1}", "limits: {cpu: 2000m, memory: 4Gi}"),
    )
    root = tmp_path / "generated"
    write_tree(root, render_stack(load_stack(spec)))
    dev = {d["kind"]: d for d in _build(root, "k8s/overlays/dev")}
    resources = dev["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {
        "limits": {"cpu": "2000m", "memory": "4Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }


def test_dashboards_become_sidecar_configmaps(stack):
    dashboard = Artifact("grafana/dashboards/fugatto-overview.json", '{"title": "x"}\n')
    out = {a.path: a for a in kubernetes.render(stack, [dashboard])}
    cm = yaml.safe_load(out[f"{BASE}/grafana-dashboard-fugatto-overview.yaml"].content)
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["data"] == {"fugatto-overview.json": '{"title": "x"}\n'}
    resources = yaml.safe_load(out[f"{BASE}/kustomization.yaml"].content)["resources"]
    assert "grafana-dashboard-fugatto-overview.yaml" in resources


@pytest.mark.slow
def test_rendered_manifests_pass_the_validator(rendered, stack):
    assert k8s_check.validate(rendered, stack) == []


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_service_monitor_port_the_service_lacks_fails_naming_it(tree, stack):
    _edit(tree, f"{BASE}/fugatto-audio-lab-servicemonitor.yaml", "port: metrics", "port: prom-metrics")
    messages = [f.message for f in k8s_check.validate(tree, stack)]
    assert any(
        "endpoint port 'prom-metrics' is not a port name of Service 'fugatto-audio-lab'" in m
        for m in messages
    )


@pytest.mark.slow
def test_selector_mismatches_fail(tree, stack):
    _edit(
        tree,
        f"{BASE}/fugatto-audio-lab-service.yaml",
        "  selector:\n    app.kubernetes.io/name: fugatto-audio-lab",
        "  selector:\n    app.kubernetes.io/name: fugatto",
    )
    messages = "\n".join(f.message for f in k8s_check.validate(tree, stack))
    assert (
        "Service 'fugatto-audio-lab': selector {'app.kubernetes.io/name': 'fugatto'} matches no Deployment"
        in messages
    )


@pytest.mark.slow
def test_broken_rule_in_an_overlay_fails_promtool(tree, stack):
    _edit(tree, "k8s/overlays/dev/fugatto-audio-lab-prometheusrule-patch.yaml", "> 0.2", "> > 0.2")
    findings = k8s_check.validate(tree, stack)
    assert any(
        f.file == "k8s/overlays/dev (built)" and f.rule.startswith("promtool check rules") for f in findings
    )


@pytest.mark.slow
def test_strict_schema_and_unpinned_image_fail(tree, stack):
    _edit(
        tree,
        f"{BASE}/fugatto-audio-lab-deployment.yaml",
        "imagePullPolicy: IfNotPresent",
        "imagePullPolicy: IfNotPresent\n        bogusField: 1",
    )
    _edit(
        tree,
        f"{BASE}/fugatto-audio-lab-deployment.yaml",
        "image: fugatto-audio-lab:0.1.0",
        "image: fugatto-audio-lab:latest",
    )
    findings = k8s_check.validate(tree, stack)
    assert any(
        f.rule.startswith("kubernetes-validate --strict -k 1.30.0") and "bogusField" in f.message
        for f in findings
    )
    assert any("'fugatto-audio-lab:latest' is not pinned" in f.message for f in findings)


@pytest.mark.slow
def test_base_rules_must_equal_the_prometheus_rules(tree, stack):
    _edit(tree, names.alert_rules_file("fugatto-audio-lab"), "> 95", "> 90")
    messages = [f.message for f in k8s_check.validate(tree, stack)]
    assert any("groups differ from prometheus/rules/fugatto-audio-lab-alerts.yml" in m for m in messages)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("HighErrorRate: 0.2", "HighErrorRate: 2"), "threshold 2 is invalid for alert 'HighErrorRate'"),
        (
            ("HighResponseTime: 30", "HighResponseTime: 20"),
            "threshold 20 must be one of the histogram's buckets",
        ),
        (("HighErrorRate: 0.2", "NoSuchAlert: 0.2"), "alert 'NoSuchAlert' is not an alert of service"),
        (("HighErrorRate: 0.2", "ServiceDown: 1"), "a target_down alert, which has no threshold"),
        (
            ("      fugatto-audio-lab:\n        replicas: 1", "      other:\n        replicas: 1"),
            "service 'other' is not defined",
        ),
    ],
)
def test_bad_environment_overrides_are_input_errors(spec_variant, edit, message):
    with pytest.raises(SpecError) as err:
        load_stack(spec_variant(edit))
    text = str(err.value)
    assert message in text and "environments[0].services." in text


def test_prometheus_rule_carries_every_rule_file_of_the_service(stack, tmp_path, monkeypatch):
    """A second rule file (as the SLO branch adds) reaches the PrometheusRule, the base and the overlays,
    with environment thresholds still applied to the alert group; the validator reads both files."""
    from stackgen.targets.prometheus import rules as prometheus

    original = prometheus.rule_file_groups
    slo_file = "prometheus/rules/fugatto-audio-lab-slos.yml"
    slo_group = {
        "name": "fugatto-audio-lab-slos",
        "rules": [{"record": "slo:sli_error:ratio_rate5m", "expr": "vector(0)"}],
    }

    def with_slos(spec, service, env=None):
        return {**original(spec, service, env), slo_file: [slo_group]}

    monkeypatch.setattr(prometheus, "rule_file_groups", with_slos)
    root = tmp_path / "generated"
    write_tree(root, render_stack(stack))
    assert _doc(root, slo_file)["groups"] == [slo_group]
    assert "rules/fugatto-audio-lab-slos.yml" in _doc(root, names.PROMETHEUS_CONFIG)["rule_files"]
    base = _doc(root, f"{BASE}/fugatto-audio-lab-prometheusrule.yaml")["spec"]["groups"]
    assert base == _doc(root, names.alert_rules_file("fugatto-audio-lab"))["groups"] + [slo_group]
    # the dev overlay patches only the alert group's thresholds; kustomize keeps the second file's group
    ops = _doc(root, "k8s/overlays/dev/fugatto-audio-lab-prometheusrule-patch.yaml")
    assert ops and all(op["path"].startswith("/spec/groups/0/rules/") for op in ops)
    dev = {d["kind"]: d for d in _build(root, "k8s/overlays/dev")}["PrometheusRule"]["spec"]["groups"]
    assert [g["name"] for g in dev] == ["fugatto-audio-lab.alerts", "fugatto-audio-lab.recording",
                                        "fugatto-audio-lab-slos"]
    assert {r["alert"]: r for r in dev[0]["rules"]}["HighErrorRate"]["expr"].split("\nand\n")[0].endswith("> 0.2")
    docs = [_doc(root, str(p.relative_to(root))) for p in (root / BASE).glob("*prometheusrule.yaml")]
    assert k8s_check.rules_match_prometheus(root, stack, docs) == []
    # a PrometheusRule without the second file's group is reported
    (root / slo_file).write_text(yaml.safe_dump({"groups": [slo_group, {"name": "extra", "rules": []}]}))
    problems = k8s_check.rules_match_prometheus(root, stack, docs)
    assert problems == [
        "PrometheusRule 'fugatto-audio-lab' groups differ from "
        "prometheus/rules/fugatto-audio-lab-alerts.yml, prometheus/rules/fugatto-audio-lab-slos.yml"
    ]
