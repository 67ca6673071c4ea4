"""Whole-stack PromQL rules (quantile thresholds between buckets, vector matching): each tripped, each with a near miss."""

from __future__ import annotations

from .conftest import REPO, SPEC_TEXT, replace_once, with_raw_alert
from .test_route_tree import found, line_of

EXPR = "expr: '"
QUANTILE = "histogram_quantile(0.95, sum by (le) (rate(fugatto_request_duration_seconds_bucket[5m])))"



def test_quantile_threshold_between_buckets(lint_text):
    text = with_raw_alert(f"{QUANTILE} > 0.3")
    assert found(lint_text, text, "alert-threshold-between-buckets") == [
        (f"stack.yaml:{line_of(text, EXPR + 'histogram_quantile')}:9: services[0].alerts[8].expr", "warning",
         "alert BrokenRawAlert compares histogram_quantile() of fugatto_request_duration_seconds with 0.3: threshold 0.3 "
         "must be one of the histogram's buckets below the largest, so the quantile is not interpolated across it "
         "(buckets: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)")]
    near = with_raw_alert(f"{QUANTILE} > 0.25")
    assert found(lint_text, near, "alert-threshold-between-buckets") == []
    flipped = with_raw_alert(f"0.3 < {QUANTILE}")
    assert len(found(lint_text, flipped, "alert-threshold-between-buckets")) == 1


ERRORS_BY_STATUS = 'sum by (status) (rate(fugatto_requests_total{status=~"5.."}[5m]))'


def test_sides_aggregated_by_different_labels_never_match(lint_text):
    text = with_raw_alert(f"{ERRORS_BY_STATUS} / sum by (endpoint) (rate(fugatto_requests_total[5m])) > 0.1")
    assert found(lint_text, text, "promql-vector-never-matches") == [
        (f"stack.yaml:{line_of(text, EXPR + 'sum by (status)')}:9: services[0].alerts[8].expr", "error",
         "alert BrokenRawAlert: the two sides of / never match: labels only on the left: status; "
         "only on the right: endpoint")]
    near = with_raw_alert(f"{ERRORS_BY_STATUS} / ignoring(status) sum (rate(fugatto_requests_total[5m])) > 0.1")
    assert found(lint_text, near, "promql-vector-never-matches") == []


def test_on_label_dropped_by_an_aggregation(lint_text):
    text = with_raw_alert("sum by (endpoint) (rate(fugatto_requests_total[5m])) / on(endpoint, method) "
                          "sum by (endpoint, method) (rate(fugatto_requests_total[5m])) > 1")
    assert found(lint_text, text, "promql-match-label-dropped") == [
        (f"stack.yaml:{line_of(text, EXPR + 'sum by (endpoint)')}:9: services[0].alerts[8].expr", "error",
         "alert BrokenRawAlert matches on(endpoint, method), but the left side's sum by (endpoint) drops label 'method'")]
    near = with_raw_alert("sum by (endpoint, method) (rate(fugatto_requests_total[5m])) / on(endpoint, method) "
                          "sum by (endpoint, method) (rate(fugatto_requests_total[5m])) > 1")
    assert found(lint_text, near, "promql-match-label-dropped") == []


def test_group_left_label_dropped_by_an_aggregation(lint_text):
    text = with_raw_alert("sum by (endpoint, method) (rate(fugatto_requests_total[5m])) / on(endpoint) group_left(status) "
                          "sum by (endpoint) (rate(fugatto_requests_total[5m])) > 1")
    assert found(lint_text, text, "promql-match-label-dropped") == [
        (f"stack.yaml:{line_of(text, EXPR + 'sum by (endpoint, method)')}:9: services[0].alerts[8].expr", "error",
         "alert BrokenRawAlert copies 'status' with group_left(status), but the right side's sum by (endpoint) drops it")]
    near = with_raw_alert("sum by (endpoint, method) (rate(fugatto_requests_total[5m])) / on(endpoint) group_left(status) "
                          "sum by (endpoint, status) (rate(fugatto_requests_total[5m])) > 1")
    assert found(lint_text, near, "promql-match-label-dropped") == []


def test_ignore_comment_that_silences_nothing(lint_text):
    text = with_raw_alert('rate(fugatto_requests_total{status=~"500"}[5m]) > 1').replace(
        "        expr: 'rate(", "        # stackgen: ignore[promql-regex-plain, route-overlap]\n        expr: 'rate(")
    assert found(lint_text, text, "promql-regex-plain") == []
    assert found(lint_text, text, "ignore-unused") == [
        (f"stack.yaml:{line_of(text, '# stackgen: ignore[promql-regex-plain')}:9", "warning",
         f"ignore comment names 'route-overlap', which finds nothing on line {line_of(text, EXPR + 'rate(')}")]
    near = text.replace("promql-regex-plain, route-overlap", "promql-regex-plain")
    assert found(lint_text, near, "ignore-unused") == []


def test_slo_budget_below_one_event_at_the_declared_traffic(lint_text):
    text = replace_once(SPEC_TEXT, "        objective: 99.5\n", "        objective: 99.5\n        expected_rps: 0.5\n")
    assert found(lint_text, text, "slo-budget-below-one-event") == [
        (f"stack.yaml:{line_of(text, 'expected_rps: 0.5')}:9: services[0].slos[0].expected_rps", "warning",
         "SLO 'generate-availability' at 0.5 events/s may fail 0.75 events in its shortest alert window (5m): "
         "one failure there already burns faster than the objective allows")]
    near = text.replace("expected_rps: 0.5", "expected_rps: 1")
    assert found(lint_text, near, "slo-budget-below-one-event") == []


ENV_SPEC = (REPO / "tests" / "golden" / "environments" / "stack.yaml").read_text(encoding="utf-8")


def test_environment_route_override_to_a_receiver_without_integrations(lint_text):
    base = ENV_SPEC.replace("  receivers:\n    - name: default\n", "  receivers:\n    - name: sink\n    - name: default\n", 1)
    text = replace_once(base, "        receiver: default\n  - name: prod", "        receiver: sink\n  - name: prod")
    assert [f for f in found(lint_text, text, "receiver-no-integrations") if "environments" in f[0]] == [
        (f"stack.yaml:{line_of(text, 'receiver: sink')}:9: environments[0].routes[0].receiver", "warning",
         "environment 'dev' routes [severity=\"critical\"] to receiver 'sink', which has no integrations: "
         "its alerts notify nobody there")]
    assert [f for f in found(lint_text, base, "receiver-no-integrations") if "environments" in f[0]] == []
