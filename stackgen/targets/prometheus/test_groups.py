"""Generated promtool scenarios that share one test group.

promtool evaluates every rule of the file at every step of every test group, so N scenarios on N
timelines cost N timelines. Two scenarios can share one when neither can see the other: the alerts
each checks read, through the file's recording rules, no metric that the other's input series carry,
their series share no metric name, and they check different alerts (a check names one alert and
expects exactly its instances). Then each alert sees the same series, at the same instants, as in a
group of its own, and a failure still names the alert and the instant. An alert whose reads cannot
be told (a selector without a literal metric name, ALERTS, a parse error) shares with nothing.

The SLO tests share groups by their own rule (slo_tests.side_by_side): every SLO records the same
`slo:*` names, told apart by `sloth_id`, which reads by metric name cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stackgen.parsers.promql_analysis import PromQLError, read_metrics

Reads = Callable[[str], frozenset[str] | None]  # alert name -> the metrics its rules read (None: unknown)

# A generated alert scenario has these keys and no others (no name, no expression tests).
_PLAIN = {"interval", "input_series", "alert_rule_test"}
# Series whose samples depend on the rules themselves, not on the test's input.
_RULE_STATE = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


def rule_reads(groups: list[dict[str, Any]]) -> Reads:
    """What each alert of these rule groups reads: the metrics its expression selects and, for each of them
    that a recording rule here records, what that rule reads in turn."""
    records: dict[str, list[str]] = {}
    alerts: dict[str, list[str]] = {}
    for group in groups:
        for rule in group.get("rules", []):
            into = records.setdefault(rule["record"], []) if "record" in rule else alerts.setdefault(rule["alert"], [])
            into.append(rule["expr"])

    def closure(exprs: list[str], seen: frozenset[str]) -> frozenset[str] | None:
        out: set[str] = set()
        for expr in exprs:
            try:
                selected = read_metrics(expr)
            except PromQLError:
                return None
            if selected is None or selected & _RULE_STATE:
                return None
            for metric in selected - seen:
                out.add(metric)
                if metric in records:
                    inner = closure(records[metric], seen | {metric})
                    if inner is None:
                        return None
                    out |= inner
        return frozenset(out)

    cache: dict[str, frozenset[str] | None] = {}

    def reads(alert: str) -> frozenset[str] | None:
        if alert not in cache:
            cache[alert] = closure(alerts[alert], frozenset()) if alert in alerts else None
        return cache[alert]

    return reads


@dataclass
class _Shared:
    """A test group being filled, with what its scenarios check, carry and read (None: cannot be told)."""

    case: dict[str, Any]
    alerts: set[str]
    metrics: set[str]
    reads: set[str] | None

    def admits(self, alerts: set[str], metrics: set[str], reads: frozenset[str] | None) -> bool:
        # Disjoint series too: promtool refuses a series defined twice in one group, even one no alert reads.
        return (self.reads is not None and reads is not None and not self.alerts & alerts
                and not self.metrics & metrics and not self.reads & metrics and not reads & self.metrics)


def side_by_side(cases: list[dict[str, Any]], reads: Reads) -> list[dict[str, Any]]:
    """The cases, each plain alert scenario moved into the first earlier one it can share a timeline with
    (see the module docstring); others stay as they are, in order."""
    out: list[dict[str, Any]] = []
    open_groups: dict[str, list[_Shared]] = {}  # plain groups by sample interval
    for case in cases:
        if not _plain(case):
            out.append(dict(case))
            continue
        alerts, metrics = _alerts(case), _metrics(case)
        read = None if "" in metrics else _read_by(alerts, reads)
        candidates = open_groups.setdefault(case["interval"], [])
        into = next((g for g in candidates if g.admits(alerts, metrics, read)), None)
        if into is None:
            group = _Shared(dict(case), alerts, metrics, None if read is None else set(read))
            candidates.append(group)
            out.append(group.case)
            continue
        into.case["input_series"] = into.case["input_series"] + case["input_series"]
        into.case["alert_rule_test"] = into.case["alert_rule_test"] + case["alert_rule_test"]
        into.alerts |= alerts
        into.metrics |= metrics
        into.reads |= read  # type: ignore[operator]  # admits() saw both known
    return out


def _plain(case: dict[str, Any]) -> bool:
    return set(case) == _PLAIN


def series_metric(series: dict[str, str]) -> str:
    """The metric name of a promtool input series (`name{labels}`); "" when written as `{__name__=...}`."""
    return series["series"].split("{", 1)[0].strip()


def _metrics(case: dict[str, Any]) -> set[str]:
    return {series_metric(series) for series in case["input_series"]}


def _alerts(case: dict[str, Any]) -> set[str]:
    return {check["alertname"] for check in case["alert_rule_test"]}


def _read_by(alerts: set[str], reads: Reads) -> frozenset[str] | None:
    out: set[str] = set()
    for alert in alerts:
        found = reads(alert)
        if found is None:
            return None
        out |= found
    return frozenset(out)

