"""Which generated promtool scenarios may share a test group (stackgen/targets/prometheus/test_groups.py):
only those that cannot see each other's series."""

from __future__ import annotations

from typing import Any

import pytest

from stackgen.targets.prometheus.test_groups import rule_reads, side_by_side
from tests.alert_scenarios import apart

GROUPS = [{"name": "g", "rules": [
    {"alert": "Errors", "expr": 'sum(rate(requests_total{code=~"5.."}[5m])) / sum(rate(requests_total[5m])) > 0.05'},
    {"alert": "Slow", "expr": "api:latency:p99 > 1"},
    {"record": "api:latency:p99", "expr": "histogram_quantile(0.99, sum by (le) (rate(latency_bucket[5m])))"},
    {"alert": "Down", "expr": 'up{job="api"} == 0 or absent(up{job="api"})'},
    {"alert": "Watchdog", "expr": "vector(1)"},
    {"alert": "Anything", "expr": '{job="api"} > 1'},
    {"alert": "Meta", "expr": 'ALERTS{alertname="Errors"} == 1'},
    {"alert": "Queue", "expr": "queue_depth > 10"},
]}]


def case(alert: str, *metrics: str, interval: str = "15s", **extra: Any) -> dict[str, Any]:
    return {"interval": interval, "input_series": [{"series": f'{m}{{job="api"}}', "values": "1x3"} for m in metrics],
            "alert_rule_test": [{"eval_time": "1m", "alertname": alert, "exp_alerts": []}], **extra}


def test_reads_follow_recording_rules_and_refuse_what_cannot_be_told() -> None:
    reads = rule_reads(GROUPS)
    assert reads("Errors") == {"requests_total"}
    assert reads("Slow") == {"api:latency:p99", "latency_bucket"}
    assert reads("Down") == {"up"}
    assert reads("Watchdog") == frozenset()
    assert reads("Anything") is None  # a selector without a metric name reads every series
    assert reads("Meta") is None  # ALERTS is the rules' own state
    assert reads("NotARule") is None


def test_scenarios_that_cannot_see_each_other_share_a_group_and_come_apart_again() -> None:
    reads = rule_reads(GROUPS)
    cases = [case("Errors", "requests_total"), case("Errors", "requests_total"), case("Slow", "latency_bucket"),
             case("Down", "up"), case("Watchdog", "stackgen_test_placeholder")]
    shared = side_by_side(cases, reads)
    # Errors' second scenario cannot join its first (the same alert); every other one joins the first group.
    assert [sorted({c["alertname"] for c in g["alert_rule_test"]}) for g in shared] == [
        ["Down", "Errors", "Slow", "Watchdog"], ["Errors"]]
    restored = [one for group in shared for one in apart(group, reads)]
    # Watchdog reads nothing, so its placeholder series is not needed apart.
    assert sorted(map(repr, restored)) == sorted(map(repr, [*cases[:4], {**cases[4], "input_series": []}]))


ERRORS, SLOW = case("Errors", "requests_total"), case("Slow", "latency_bucket")


@pytest.mark.parametrize("first, other", [
    (ERRORS, case("Queue", "queue_depth", "requests_total")),  # carries a metric Errors reads
    (SLOW, case("Queue", "queue_depth", "latency_bucket")),  # a metric Slow reads through its recording rule
    (ERRORS, case("Anything", "queue_depth")),  # what it reads cannot be told
    (ERRORS, case("Meta", "queue_depth")),
    (ERRORS, case("Queue", "queue_depth", interval="1m")),  # another sample interval
    (ERRORS, case("Queue", "queue_depth", promql_expr_test=[])),  # not a plain alert scenario
    (case("Errors", "requests_total", "extra"), case("Queue", "queue_depth", "extra")),  # a series both define
])
def test_scenarios_that_might_see_each_other_stay_apart(first: dict[str, Any], other: dict[str, Any]) -> None:
    reads = rule_reads(GROUPS)
    assert len(side_by_side([first, other], reads)) == 2
    assert len(side_by_side([other, first], reads)) == 2


def test_a_metric_the_other_reads_keeps_them_apart_in_either_direction() -> None:
    reads = rule_reads(GROUPS)
    # Queue's scenario carries requests_total, which Errors reads: Errors would see it.
    assert len(side_by_side([case("Errors", "requests_total"), case("Queue", "queue_depth", "requests_total")], reads)) == 2
    # The reverse: Errors' scenario carries queue_depth, which Queue reads.
    assert len(side_by_side([case("Errors", "requests_total", "queue_depth"), case("Queue", "queue_depth")], reads)) == 2
    assert len(side_by_side([case("Errors", "requests_total"), case("Queue", "queue_depth")], reads)) == 1
