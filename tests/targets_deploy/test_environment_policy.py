"""Per-environment alerting policy (issue 24): an environment overrides an alert's threshold, `for` and
severity, disables an alert, sends a route to another receiver and changes an SLO's objective; its
overlay carries only the difference.

The proof is the overlay as a cluster gets it: `kubectl kustomize` applies the patches, and promtool runs
tests against the rules it built, so the dev overlay's alert is shown to fire at dev's threshold (and
the base's not to). The environment's routing tests run through amtool against its own config.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.checks import amtool
from stackgen.diagnostics import SpecError
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets import kubernetes

REPO = Path(__file__).resolve().parents[2]
ENV_SPEC = REPO / "tests/golden/environments/stack.yaml"
SLO_SPEC = REPO / "tests/golden/slo/stack.yaml"


def _render(spec: Path, root: Path) -> Path:
    write_tree(root, render_stack(load_stack(spec)))
    return root


def _built(root: Path, folder: str) -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", folder], cwd=root, capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _rule_groups(root: Path, folder: str, name: str) -> list[dict[str, Any]]:
    return next(d for d in _built(root, folder) if d["kind"] == "PrometheusRule" and d["metadata"]["name"] == name)[
        "spec"]["groups"]


def _variant(tmp_path: Path, spec: Path, old: str, new: str) -> Path:
    text = spec.read_text()
    assert old in text
    out = tmp_path / "stack.yaml"
    out.write_text(text.replace(old, new, 1))
    return out


# 10% of requests fail: above the base threshold (0.05), below dev's (0.2). 30% fail: above both.
PROMTOOL_TESTS = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{{job="api",code="500"}}'
        values: '0+{bad}x40'
      - series: 'http_requests_total{{job="api",code="200"}}'
        values: '0+{good}x40'
    promql_expr_test:
      - expr: 'ALERTS{{alertname="ApiErrors",alertstate="firing"}}'
        eval_time: {at}
        exp_samples: {samples}
"""


def _promtool(tmp_path: Path, groups: list[dict[str, Any]], bad: int, good: int, at: str, firing: dict | None) -> str:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    samples = "[]" if firing is None else "[{labels: '" + "ALERTS{" + ",".join(
        f'{k}="{v}"' for k, v in sorted(firing.items())) + "}', value: 1}]"
    (tmp_path / "test.yml").write_text(PROMTOOL_TESTS.format(bad=bad, good=good, at=at, samples=samples))
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stdout + result.stderr


@pytest.mark.slow
def test_dev_overlay_rules_fire_at_dev_threshold_for_and_severity(tmp_path: Path) -> None:
    root = _render(ENV_SPEC, tmp_path / "generated")
    dev = _rule_groups(root, "k8s/overlays/dev", "api")
    base = _rule_groups(root, "k8s/base", "api")
    assert [r["alert"] for g in dev for r in g["rules"] if "alert" in r] == ["ApiErrors"]  # ApiSlow disabled
    labels = {"alertname": "ApiErrors", "alertstate": "firing", "job": "api", "service": "api", "team": "web"}
    work = tmp_path / "promtool"
    work.mkdir()
    # 10% errors: the base pages (critical after 2m); dev, at 0.2, stays silent.
    assert _promtool(work, base, 1, 9, "20m", {**labels, "severity": "critical"}) == ""
    assert _promtool(work, dev, 1, 9, "20m", None) == ""
    # 30% errors: dev fires, as a warning, only once its 10m `for` has passed.
    assert _promtool(work, dev, 3, 7, "20m", {**labels, "severity": "warning"}) == ""
    assert _promtool(work, dev, 3, 7, "9m", None) == ""


@pytest.mark.slow
def test_overlay_is_the_environments_rules_and_config(tmp_path: Path) -> None:
    """The small patch applied by kustomize gives exactly the environment's resolved rules, and the
    overlay's Secret holds its config with the route override (the template keys stay the base's)."""
    stack = load_stack(ENV_SPEC)
    root = _render(ENV_SPEC, tmp_path / "generated")
    dev = next(e for e in stack.spec.environments if e.name == "dev")
    service = stack.spec.services[0]
    assert _rule_groups(root, "k8s/overlays/dev", "api") == kubernetes.prometheus_rule(stack, service, dev)["spec"]["groups"]
    secret = next(d for d in _built(root, "k8s/overlays/dev") if d["kind"] == "Secret")

    config = yaml.safe_load(base64.b64decode(secret["data"]["alertmanager.yaml"]))
    assert config["route"]["routes"][0]["receiver"] == "default"
    prod_kustomization = yaml.safe_load((root / "k8s/overlays/prod/kustomization.yaml").read_text())
    assert "secretGenerator" not in prod_kustomization  # prod routes like the base: no config of its own


@pytest.mark.slow
def test_disabling_several_alerts_removes_from_the_highest_index(tmp_path: Path) -> None:
    spec = _variant(tmp_path, ENV_SPEC, "ApiErrors: {for: 10m, severity: warning}", "ApiErrors: {enabled: false}")
    spec.write_text(spec.read_text().replace("        alert_thresholds:\n          ApiErrors: 0.2\n", "", 1))
    stack = load_stack(spec)
    dev = next(e for e in stack.spec.environments if e.name == "dev")
    ops = kubernetes.prometheus_rule_patch(stack, stack.spec.services[0], dev)
    removes = [op["path"] for op in ops if op["op"] == "remove"]
    assert removes == ["/spec/groups/0/rules/1", "/spec/groups/0/rules/0"]  # the highest index first
    root = _render(spec, tmp_path / "generated")
    assert _rule_groups(root, "k8s/overlays/dev", "api") == kubernetes.prometheus_rule(
        stack, stack.spec.services[0], dev)["spec"]["groups"]


def test_patch_removes_rules_highest_index_first() -> None:
    base = [{"name": "g", "rules": [{"alert": "A", "expr": "1"}, {"alert": "B", "expr": "1"}, {"alert": "C", "expr": "1"}]}]
    target = [{"name": "g", "rules": [{"alert": "B", "expr": "2"}]}]
    stack = load_stack(ENV_SPEC)

    class Fake:
        pass

    original = kubernetes.prometheus_rule
    try:
        kubernetes.prometheus_rule = lambda _s, _v, env: {"spec": {"groups": target if env else base}}  # type: ignore[assignment]
        ops = kubernetes.prometheus_rule_patch(stack, stack.spec.services[0], Fake())  # type: ignore[arg-type]
    finally:
        kubernetes.prometheus_rule = original  # type: ignore[assignment]
    assert ops == [
        {"op": "test", "path": "/spec/groups/0/rules/1/alert", "value": "B"},
        {"op": "replace", "path": "/spec/groups/0/rules/1/expr", "value": "2"},
        {"op": "test", "path": "/spec/groups/0/rules/2/alert", "value": "C"},
        {"op": "remove", "path": "/spec/groups/0/rules/2"},
        {"op": "test", "path": "/spec/groups/0/rules/0/alert", "value": "A"},
        {"op": "remove", "path": "/spec/groups/0/rules/0"},
    ]


SLO_ENV = """environments:
  - name: dev
    services:
      api:
        slo_objectives: {requests-availability: 99}
"""


@pytest.mark.slow
def test_slo_objective_override_patches_only_changed_fields(tmp_path: Path) -> None:
    spec = tmp_path / "stack.yaml"
    spec.write_text(SLO_SPEC.read_text() + SLO_ENV)
    stack = load_stack(spec)
    dev = stack.spec.environments[0]
    service = stack.spec.services[0]
    ops = kubernetes.prometheus_rule_patch(stack, service, dev)
    assert ops and all(op["op"] in ("test", "replace") for op in ops)
    assert not any(op["path"].endswith("/rules") or op["path"] == "/spec/groups" for op in ops)  # no whole lists
    root = _render(spec, tmp_path / "generated")
    built = _rule_groups(root, "k8s/overlays/dev", service.name)
    assert built == kubernetes.prometheus_rule(stack, service, dev)["spec"]["groups"]
    assert built != _rule_groups(root, "k8s/base", service.name)
    assert any("0.01" in str(op.get("value")) for op in ops)  # 99%: an error budget of 1%


@pytest.mark.slow
def test_environment_routing_tests_run_against_its_config(tmp_path: Path) -> None:
    root = _render(ENV_SPEC, tmp_path / "generated")
    tests = yaml.safe_load((root / "alertmanager/tests/routes-dev.yml").read_text())
    assert tests["config"] == "k8s/overlays/dev/alertmanager-config.yaml"
    errors = next(c for c in tests["tests"] if c["name"] == "api ApiErrors")
    assert errors["labels"]["severity"] == "warning" and errors["receivers"] == ["default"]
    assert not any(c["name"] == "api ApiSlow" for c in tests["tests"])
    assert not (root / "alertmanager/tests/routes-prod.yml").exists()
    stack = load_stack(ENV_SPEC)
    assert amtool.validate(root, stack) == []
    # The overlay's config without its route override: amtool sees criticals go to `pager`.
    shutil.copy(root / "alertmanager/alertmanager.yml", root / "k8s/overlays/dev/alertmanager-config.yaml")
    findings = amtool.validate(root, stack)
    assert findings and all(f.file == "alertmanager/tests/routes-dev.yml" for f in findings)
    assert any("api critical" in f.message for f in findings)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("ApiSlow: {enabled: false}", "ApiSlowly: {enabled: false}",
     "alert 'ApiSlowly' is not an alert of service 'api'"),
    ("ApiErrors: {for: 10m, severity: warning}", "ApiErrors: {threshold: 0.3}",
     "the threshold of alert 'ApiErrors' is also set in alert_thresholds"),
    ("ApiSlow: {enabled: false}", "ApiSlow: {enabled: false}\n        slo_objectives: {nope: 99}",
     "SLO 'nope' is not an SLO of service 'api'"),
    ("""- matchers: ['severity="critical"']
        receiver: default""", """- matchers: ['severity="warning"']
        receiver: default""", "no route has exactly the matchers [severity=\"warning\"]"),
    ("""- matchers: ['severity="critical"']
        receiver: default""", """- matchers: ['severity="critical"']
        receiver: nobody""", "receiver 'nobody' is not defined"),
])
def test_overrides_naming_unknown_things_are_located_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    spec = _variant(tmp_path, ENV_SPEC, old, new)
    with pytest.raises(SpecError) as raised:
        load_stack(spec)
    found = [d for d in raised.value.problems if message in d.message]
    assert found, [d.message for d in raised.value.problems]
    assert found[0].line > 0


def test_review_reports_each_environments_overrides(tmp_path: Path) -> None:
    from stackgen.review.alerts import compare

    head = load_stack(ENV_SPEC)
    base_spec = _variant(tmp_path, ENV_SPEC, """        alerts:
          # dev pages nobody: its errors wait longer and only warn; its latency is not watched at all.
          ApiErrors: {for: 10m, severity: warning}
          ApiSlow: {enabled: false}
""", "")
    notes = {e.subject: e.notes for e in compare(load_stack(base_spec), head)}
    assert notes["ApiErrors"] == ("per environment: dev 0.2 → 0.2 (for 10m) (severity warning), prod keeps 0.05",)
    assert notes["ApiSlow"] == ("per environment: dev 1 → off, prod keeps 0.5",)
