"""Generated and hand-written promtool tests: believable data, and raw tests that state only their intent."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.parsers.promql_analysis import analyze
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets.prometheus.alert_tests import _gauge_values

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests/golden/raw-alert/stack.yaml"


def _tests(spec: Path, tmp_path: Path) -> tuple[Path, dict]:
    out = tmp_path / "generated"
    write_tree(out, render_stack(load_stack(spec)))
    (path,) = (out / "prometheus/tests").glob("*-alerts.test.yml")
    return path, yaml.safe_load(path.read_text())


def test_free_labels_get_neutral_values_not_status_codes(tmp_path: Path):
    _, document = _tests(ROOT / "stack.yaml", tmp_path)
    series = [s["series"] for case in document["tests"] for s in case["input_series"]]
    # A label no matcher constrains reads as a placeholder, never as an HTTP status.
    assert any('="example"' in s for s in series)
    for text in series:
        for label, value in re.findall(r'(\w+)="([^"]*)"', text):
            if label not in ("status", "code", "le"):
                assert value not in ("200", "500"), text


def test_gauge_data_stays_in_the_unit_range():
    fire, silent = _gauge_values("gpu_utilization_percent", ">", 95)
    assert 95 < fire <= 100 and silent < 95
    fire, silent = _gauge_values("cache_usage_ratio", ">=", 0.95)
    assert 0.95 <= fire <= 1 and silent < 0.95
    fire, silent = _gauge_values("free_memory_bytes", "<", 0)
    assert fire >= 0  # never a negative byte count
    assert silent >= 0
    # Without a unit suffix the old "10% past the threshold" stands.
    assert _gauge_values("queue_depth", ">", 10) == (11.0, 9.0)


def test_bundled_gpu_utilization_test_data_is_a_percentage(tmp_path: Path):
    _, document = _tests(ROOT / "stack.yaml", tmp_path)
    values = [float(v.split("x")[0]) for case in document["tests"] for s in case["input_series"]
              if s["series"].startswith("fugatto_gpu_utilization_percent") for v in s["values"].split()]
    assert values and max(values) <= 100


def test_raw_tests_get_injected_labels_and_annotations_and_a_spec_line(tmp_path: Path):
    _, document = _tests(RAW, tmp_path)
    (case,) = [c for c in document["tests"] if any(t["alertname"] == "ApiQueueStuck" for t in c["alert_rule_test"])]
    assert case["name"] == "stack.yaml:57:13: services[0].alerts[2].tests[0]"
    assert RAW.read_text().splitlines()[56].strip().startswith("- interval:")
    (firing,) = [t for t in case["alert_rule_test"] if t["exp_alerts"]]
    (expected,) = firing["exp_alerts"]
    assert expected["exp_labels"] == {"instance": "api:9100", "service": "api", "severity": "warning", "team": "web"}
    assert expected["exp_annotations"] == {
        "summary": "API queue stuck", "description": "20 jobs wait on api:9100.",
        "runbook_url": "https://runbooks.example.com/ApiQueueStuck", "dashboard_url": "http://localhost:3000/d/api"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_a_failing_raw_test_names_its_spec_line(tmp_path: Path):
    spec = tmp_path / "stack.yaml"
    spec.write_text(RAW.read_text().replace('description: "20 jobs wait on api:9100."',
                                            'description: "21 jobs wait on api:9100."'))
    path, _ = _tests(spec, tmp_path)
    run = subprocess.run(["promtool", "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True)
    assert run.returncode == 1
    assert "name: stack.yaml:57:13: services[0].alerts[2].tests[0]" in run.stdout + run.stderr


@pytest.mark.parametrize(("expr", "labels"), [
    ('max by (instance) (q{job="api"}) > 10', {"instance"}),
    ("a > on (x) b", {"x"}),
    ("sum by (a, b) (x) / ignoring (b) sum by (a, b) (y)", {"a"}),
    ("sum by (a) (x) * on (a) group_left (owner) sum by (a, owner) (info)", {"a", "owner"}),
    ('label_replace(sum by (a) (x), "dst", "$1", "a", "(.*)")', {"a", "dst"}),
    ('absent(x{job="a", k=~"v"})', {"job"}),
    ("time() - max by (job) (x)", {"job"}),
    ('count_values by (job) ("version", x)', {"job", "version"}),
    ('sum by (job) (x) and on (job) y', {"job"}),
    ("rate(x[5m]) > 1", None),  # a bare selector may carry any target label
])
def test_result_labels_of_raw_expressions(expr: str, labels: set[str] | None):
    result = analyze(expr).result_labels
    assert result == (None if labels is None else frozenset(labels))
