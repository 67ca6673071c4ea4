"""`stackgen check` fails, naming the panel, for broken dashboards: from a mutated stack.yaml (spec
errors, exit 2; layout errors, exit 1) and from mutated generated output (the validator itself)."""

from __future__ import annotations

import json
import shutil

import pytest

from stackgen.checks.grafana import check_dashboard, validate
from stackgen.targets.grafana.panel_ids import panel_ids

DASHBOARD = "grafana/dashboards/fugatto-audio-lab.json"


def pid(title: str) -> int:
    """The id of the operations dashboard's panel of that title (ids come from titles: panel_ids)."""
    return panel_ids("fugatto-audio-lab", [title])[0]


def _panels(d):
    return d["services"][0]["dashboards"]["panels"]


@pytest.mark.slow
def test_unmodified_stack_passes(run_check, write_spec):
    code, output = run_check(write_spec(lambda d: None))
    assert code == 0, output


def test_wrong_metric_in_a_typed_panel_fails_check(run_check, write_spec):
    def mutate(d):
        _panels(d)[0]["metric"] = "fugatto_request_total"

    code, output = run_check(write_spec(mutate))
    assert code == 2
    assert (
        "services[0].dashboards.panels[0].metric: panel 'Request Rate': metric 'fugatto_request_total' "
        "is not in the metric contract" in output
    )


def test_wrong_metric_in_raw_promql_fails_check(run_check, write_spec):
    def mutate(d):
        _panels(d)[3]["targets"][1]["expr"] = "fugatto_gpu_util_percent"

    code, output = run_check(write_spec(mutate))
    assert code == 2
    assert "panels[3].targets[1].expr: panel 'System Resources': metric 'fugatto_gpu_util_percent'" in output


def test_unparsable_promql_fails_check(run_check, write_spec):
    def mutate(d):
        _panels(d)[3]["targets"][0]["expr"] = "sum(rate(fugatto_memory_usage_bytes[5m])"

    code, output = run_check(write_spec(mutate))
    assert code == 2 and "panel 'System Resources': the query does not parse as PromQL" in output


def test_wrong_metric_type_fails_check(run_check, write_spec):
    def mutate(d):
        _panels(d)[0]["metric"] = "fugatto_memory_usage_bytes"

    code, output = run_check(write_spec(mutate))
    assert code == 2 and "a rate panel needs a counter, and 'fugatto_memory_usage_bytes' is a gauge" in output


@pytest.mark.slow
def test_overlapping_panel_fails_check(run_check, write_spec):
    def mutate(d):
        _panels(d)[7]["grid"] = {"x": 6, "y": 2, "w": 12, "h": 8}

    code, output = run_check(write_spec(mutate))
    assert code == 1
    assert f"panel {pid('GPU Memory')} 'GPU Memory' overlaps panel {pid('Request Rate')} 'Request Rate'" in output


def test_panel_past_24_columns_fails_check(run_check, write_spec):
    def mutate(d):
        _panels(d)[7]["grid"] = {"x": 20, "y": 60, "w": 8, "h": 8}

    code, output = run_check(write_spec(mutate))
    assert code == 2 and "panel 'GPU Memory' ends at column 28, past Grafana's 24 columns" in output


# --- the validator over generated output ---------------------------------------------------------


def _edit(root, edit):
    path = root / DASHBOARD
    dashboard = json.loads(path.read_text())
    edit(dashboard)
    path.write_text(json.dumps(dashboard))


def _messages(root, stack):
    return [f.message for f in validate(root, stack)]


def test_validator_accepts_the_render(rendered, stack):
    assert _messages(rendered, stack) == []


def test_validator_names_the_panel_with_a_wrong_metric(rendered, stack):
    _edit(
        rendered,
        lambda d: d["panels"][1]["targets"][0].update(
            expr="histogram_quantile(0.95, sum by (le) (rate(fugatto_request_seconds_bucket[5m])))"
        ),
    )
    assert _messages(rendered, stack) == [
        f"panel {pid('Response Time')} 'Response Time' query A: metric 'fugatto_request_seconds_bucket' is neither "
        "in the service's "
        "metric contract nor a generated recording rule"
    ]


def test_validator_accepts_recording_rules_from_generated_rule_files(rendered, stack):
    _edit(rendered, lambda d: d["panels"][0]["targets"][0].update(expr="job:fugatto_requests:rate5m"))
    assert "job:fugatto_requests:rate5m" in " ".join(_messages(rendered, stack))
    (rendered / "prometheus/rules/extra.yml").write_text(
        "groups:\n- name: extra\n  rules:\n  - record: job:fugatto_requests:rate5m\n    expr: vector(0)\n"
    )
    assert _messages(rendered, stack) == []


def test_validator_duplicate_ids_overlap_and_unprovisioned_datasource(rendered, stack):
    def edit(d):
        d["panels"][1]["id"] = d["panels"][0]["id"]
        d["panels"][2]["gridPos"] = {"x": 20, "y": 0, "w": 6, "h": 4}
        d["panels"][3]["datasource"] = {"type": "prometheus", "uid": "thanos"}

    _edit(rendered, edit)
    messages = _messages(rendered, stack)
    first = pid("Request Rate")
    assert f"panel {first} 'Response Time': duplicate panel id {first} (also panel {first} 'Request Rate')" in messages
    assert (f"panel {pid('Audio Generation Rate')} 'Audio Generation Rate': gridPos x=20 w=6 does not fit "
            "Grafana's 24 columns") in messages
    assert any(
        m.startswith(f"panel {pid('System Resources')} 'System Resources': datasource uid 'thanos' is not provisioned")
        for m in messages
    )


def test_validator_rejects_legacy_panels_and_old_schema():
    dashboard = {
        "schemaVersion": 16,
        "templating": {"list": []},
        "panels": [
            {
                "id": 1,
                "title": "Old",
                "type": "graph",
                "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
                "targets": [],
            }
        ],
    }
    messages = check_dashboard(dashboard, set(), {"prometheus"})
    assert "schemaVersion is 16, Grafana 11.3.0 writes 40" in messages
    assert "panel 1 'Old': legacy panel type 'graph'; use timeseries or stat" in messages


def test_datasource_provisioning_removed_is_reported(rendered, stack):
    shutil.rmtree(rendered / "grafana" / "provisioning" / "datasources")
    assert any("cannot read datasources" in m for m in _messages(rendered, stack))
