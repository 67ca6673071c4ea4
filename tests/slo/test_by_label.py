"""Issue 23 (d): per-label SLOs. `by: [endpoint]` gives one error budget per label value: the records
and alerts carry the label, a value that never failed has a full budget, and the generated tests pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.targets.grafana.slo_panels import slo_dashboard_panels
from tests.slo.conftest import slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
RULES = "prometheus/rules/fugatto-audio-lab-slos.yml"


def _by_endpoint(name: str = "per-endpoint", **extra) -> dict:
    return {**slo(name, 99.0), "by": ["endpoint"], **extra}


def test_records_and_alerts_are_per_label_value(make_stack) -> None:
    rendered = {a.path: a.content for a in render_stack(make_stack(with_slos(_by_endpoint(), alerts=False)))}
    (group,) = yaml.safe_load(rendered[RULES])["groups"]
    ratio = group["rules"][0]["expr"]
    assert ratio.count("sum by (endpoint)(rate(") == 3  # bad, the 0 for absent bad series, total
    tests = yaml.safe_load(rendered["prometheus/tests/fugatto-audio-lab-slos.test.yml"])
    fired = [a for t in tests["tests"] for c in t.get("alert_rule_test", []) for a in c["exp_alerts"]]
    assert fired and all("endpoint" in a["exp_labels"] for a in fired)


def test_panels_tell_label_values_apart(make_stack) -> None:
    (panels,) = slo_dashboard_panels(make_stack(with_slos(_by_endpoint(), alerts=False)), "fugatto-audio-lab")
    assert all(q.legend.endswith("{{endpoint}}") for p in panels for q in p.queries)


def test_templates_may_use_the_by_labels(make_stack, spec_errors) -> None:
    spec = _by_endpoint()
    spec["alerting"]["summary"] = "{{ $labels.endpoint }} burns its budget"
    assert make_stack(with_slos(spec, alerts=False)).slos[0].result_labels[-1] == "endpoint"
    (error,) = spec_errors(with_slos({**spec, "by": []}, alerts=False))
    assert "$labels.endpoint is not a label of an SLO alert" in error


@pytest.mark.parametrize(("by", "message"), [(["route"], "cannot aggregate by 'route'"),
                                             (["sloth_id"], "stackgen sets it")])
def test_by_labels_must_exist_and_not_be_stackgens(spec_errors, by: list[str], message: str) -> None:
    (error,) = spec_errors(with_slos({**slo("x"), "by": by}))
    assert "slos[0].by" in error and message in error


@pytest.mark.slow
def test_one_budget_per_value_under_promtool(make_stack, tmp_path: Path) -> None:
    write_tree(tmp_path / "g", render_stack(make_stack(with_slos(_by_endpoint(), alerts=False))))
    prometheus = tmp_path / "g" / "prometheus"
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    generated = subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(prometheus / "tests")],
                               cwd=prometheus / "tests", capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Two endpoints: /a fails 0.5% of its requests (half its 1% budget), /b never failed (no 5xx series).
    ids = 'sloth_id="fugatto-audio-lab-per-endpoint", sloth_service="fugatto-audio-lab", sloth_slo="per-endpoint"'
    series = 'fugatto_requests_total{{job="fugatto-audio-lab", endpoint="{e}", status="{s}"}}'
    document = {"rule_files": ["../rules/fugatto-audio-lab-slos.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": series.format(e="/a", s="500"), "values": "0+5x60"},
                         {"series": series.format(e="/a", s="200"), "values": "0+995x60"},
                         {"series": series.format(e="/b", s="200"), "values": "0+1000x60"}],
        "promql_expr_test": [{
            "expr": 'slo:period_error_budget_remaining:ratio{sloth_slo="per-endpoint"}', "eval_time": "1h",
            "exp_samples": [
                {"labels": f'slo:period_error_budget_remaining:ratio{{{ids}, endpoint="/a", sloth_window="30d"}}',
                 "value": 0.5},
                {"labels": f'slo:period_error_budget_remaining:ratio{{{ids}, endpoint="/b", sloth_window="30d"}}',
                 "value": 1}]}]}]}
    (prometheus / "tests" / "by.test.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    result = subprocess.run([PROMTOOL, "test", "rules", "by.test.yml"], cwd=prometheus / "tests",
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_budget_dashboard_has_a_variable_per_label(make_stack) -> None:
    """Issue 23 (3): the error-budget dashboard picks label values with a Grafana variable, and every
    query of a per-label SLO filters by it; `sloth_id` stays `<service>-<slo>` (see docs/slo.md)."""
    import json

    stack = make_stack(with_slos(_by_endpoint(), slo("plain", 99.0), alerts=False))
    rendered = {a.path: a.content for a in render_stack(stack)}
    dashboard = json.loads(rendered["grafana/dashboards/fugatto-audio-lab-slos.json"])
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "endpoint"]
    assert variables["endpoint"]["definition"] == (
        'label_values(slo:period_error_budget_remaining:ratio{sloth_service="fugatto-audio-lab"}, endpoint)')
    assert variables["endpoint"]["multi"] and variables["endpoint"]["includeAll"]
    per_label, plain = slo_dashboard_panels(stack, "fugatto-audio-lab")
    assert all('endpoint=~"$endpoint"' in q.expr for p in per_label for q in p.queries)
    assert not any("$endpoint" in q.expr for p in plain for q in p.queries)
    (group, _) = yaml.safe_load(rendered[RULES])["groups"]
    assert {r["labels"]["sloth_id"] for r in group["rules"] if "record" in r} == {"fugatto-audio-lab-per-endpoint"}
