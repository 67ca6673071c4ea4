"""PromQL semantics: metrics and labels in the contract, rates over counters, ranges, quantiles."""

from __future__ import annotations

from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.parsers.promql_analysis import LabelMatch, analyze, selected_metrics

from .conftest import SPEC_TEXT, errors, replace_once, with_raw_alert, write_spec


def test_analyze_reports_selectors_matchers_grouping_calls_and_ranges():
    a = analyze('histogram_quantile(0.9, sum by (le, model) (rate(x_bucket{job="j",model=~"m.*"}[5m]))) > 2')
    assert [(s.metric, s.matchers, s.range_ms) for s in a.selectors] == [
        ("x_bucket", (LabelMatch("job", "=", "j"), LabelMatch("model", "=~", "m.*")), 300_000)]
    assert [(g.op, g.by, g.without) for g in a.aggregations] == [("sum", ("le", "model"), None)]
    assert [c.function for c in a.calls] == ["rate", "histogram_quantile"]
    assert a.ranges_ms == [300_000]
    assert a.result_labels == frozenset({"model"})  # le is consumed by histogram_quantile
    b = analyze("sum without (gpu) (g) / on (job) group_left max by (job) (h)")
    assert b.aggregations[0].without == ("gpu",) and b.result_labels is None  # g's labels are unknown
    assert analyze('up{job="a"} == 0 or absent(up{job="a"})', lambda s: frozenset({"job", "instance"})
                   ).result_labels == frozenset({"job", "instance"})


def test_a_name_pattern_is_a_pattern_not_an_unknown_metric(lint_text):
    [sel] = analyze('{__name__=~"fugatto_queue_.*", job="a"}').selectors
    assert sel.metric is None and sel.matchers == (LabelMatch("__name__", "=~", "fugatto_queue_.*"),
                                                   LabelMatch("job", "=", "a"))
    assert selected_metrics('{__name__=~"x_.*"} + {__name__="y"} + z') == ["y", "z"]
    # in a raw alert (lint) and in a dashboard panel (resolve, which refused the pattern as a metric name)
    text = with_raw_alert('sum({__name__=~"fugatto_queue_.*"}) > 1').replace(
        "sum(fugatto_queue_depth{job=", 'sum({__name__=~"fugatto_queue_.*",job=', 1)
    assert '__name__=~"fugatto_queue_.*",job=' in text
    assert errors(lint_text(text)) == []

def test_raw_alert_selecting_a_metric_outside_the_contract_fails_lint(tmp_path):
    spec = write_spec(tmp_path, with_raw_alert("rate(fugatto_nonexistent_total[5m]) > 1", name="NonexistentRate"))
    result = CliRunner().invoke(app, ["lint", "--spec", str(spec)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if "fugatto_nonexistent_total" in x)
    assert "alerts[8].expr" in line and "alert NonexistentRate" in line
    assert "not in the metric contract of service fugatto-audio-lab" in line
    assert "[promql-unknown-metric]" in line
    assert "lint: 1 error(s)" in result.output


def test_histogram_base_name_is_not_a_series(lint_text):
    found = errors(lint_text(with_raw_alert("rate(fugatto_request_duration_seconds[5m]) > 1")),
                   "promql-unknown-metric")
    assert len(found) == 1 and "fugatto_request_duration_seconds_bucket" in found[0].fix


def test_unknown_label_in_matcher_and_in_grouping(lint_text):
    found = errors(lint_text(with_raw_alert('fugatto_queue_depth{model="x"} > 1')), "promql-unknown-label")
    assert len(found) == 1 and "label 'model' on fugatto_queue_depth" in found[0].message
    found = errors(lint_text(with_raw_alert("sum by (gpu) (rate(fugatto_requests_total[5m])) > 1")),
                   "promql-unknown-label")
    assert len(found) == 1 and "sum by (gpu)" in found[0].message and "fugatto_requests_total" in found[0].message


def test_rate_over_a_gauge(lint_text):
    found = errors(lint_text(with_raw_alert("rate(fugatto_queue_depth[5m]) > 1")), "promql-rate-non-counter")
    assert len(found) == 1 and "fugatto_queue_depth, a gauge" in found[0].message
    # histogram _sum/_count series are counters
    assert not errors(lint_text(with_raw_alert("rate(fugatto_batch_size_count[5m]) > 1")))


def test_histogram_quantile_needs_buckets_and_le(lint_text):
    found = lint_text(with_raw_alert(
        "histogram_quantile(0.9, sum(rate(fugatto_request_duration_seconds_bucket[5m]))) > 1"))
    assert [f.rule for f in errors(found)] == ["promql-quantile-drops-le"]
    found = lint_text(with_raw_alert("histogram_quantile(0.9, rate(fugatto_requests_total[5m])) > 1"))
    assert [f.rule for f in errors(found)] == ["promql-quantile-not-bucket"]


def test_range_shorter_than_four_scrapes(lint_text):
    found = errors(lint_text(with_raw_alert("rate(fugatto_requests_total[30s]) > 1")), "promql-range-too-short")
    assert len(found) == 1 and "[30s] range" in found[0].message and "at least 1m" in found[0].fix
    # a slower scrape makes the generated 5m windows too short as well, in alerts, SLO rules and panels
    slow = replace_once(SPEC_TEXT, "  scrape_interval: 15s\n", "  scrape_interval: 2m\n  scrape_timeout: 10s\n")
    found = errors(lint_text(slow), "promql-range-too-short")
    whats = " ".join(f.message for f in found)
    assert "alert HighErrorRate" in whats and "recording rule slo:sli_error:ratio_rate5m" in whats
    assert "panel 'Request Rate'" in whats


def test_dashboard_promql_panel_is_checked_at_its_target(lint_text):
    old = """'fugatto_gpu_utilization_percent{job="fugatto-audio-lab",instance=~"$instance"}'"""
    new = """'rate(fugatto_gpu_utilization_percent{job="fugatto-audio-lab",model="x"}[$__rate_interval])'"""
    found = errors(lint_text(replace_once(SPEC_TEXT, old, new)))
    assert sorted(f.rule for f in found) == ["promql-rate-non-counter", "promql-unknown-label"]
    for f in found:
        assert "dashboards.panels[3].targets[1].expr" in f.location()
        assert "panel 'System Resources' query 2" in f.message
