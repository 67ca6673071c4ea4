"""promtool unit tests for every alert: fires just past its threshold after `for`, stays silent just
below, and resolves when the condition clears.

Series are synthesized from the metric contract: label values are chosen to satisfy (or, for the
"good" series of a ratio, to escape) the alert's matchers, and expected annotations are predicted
with stackgen.parsers.gotemplate, so a wrong description template fails here just as a wrong threshold does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from stackgen.model import names
from stackgen.model.promql import COUNTED_TYPES, alert_labels, number, result_labels
from stackgen.output.artifact import Artifact
from stackgen.output.quoting import promql_string
from stackgen.output.serialize import yaml_artifact
from stackgen.parsers.gotemplate import labels_used
from stackgen.parsers.gotemplate import render as render_template
from stackgen.parsers.regex import example
from stackgen.resolve import Stack
from stackgen.spec.alerts import (
    AbsentAlert,
    Alert,
    ErrorRatioAlert,
    GaugeRatioAlert,
    LatencyQuantileAlert,
    PredictLinearAlert,
    RateThresholdAlert,
    RawAlert,
    Selector,
    TargetDownAlert,
    ThresholdAlert,
    WatchdogAlert,
)
from stackgen.spec.load import Path_, format_path
from stackgen.spec.models import Spec
from stackgen.spec.service import Metric, Service
from stackgen.spec.types import Duration, Matcher
from stackgen.targets.prometheus.alert_rules import alert_annotations, alert_groups
from stackgen.targets.prometheus.test_groups import rule_reads, side_by_side

COUNT_PER_STEP = 1000.0  # events per evaluation step in synthetic counters
JUST_PAST = 1.1  # "just past the threshold": 10% beyond it
JUST_BELOW = 0.9
# A template that shows the alert's value cannot be predicted for a hand-written test.
VALUE_USED = re.compile(r"\$value\b")


def render(stack: Stack) -> list[Artifact]:
    header = names.header(stack.spec_name)
    step = stack.spec.prometheus.evaluation_interval
    out = []
    for i, service in enumerate(stack.spec.services):
        if not service.alerts:
            continue
        generated, written = [], []
        for j, alert in enumerate(service.alerts):
            if isinstance(alert, RawAlert):
                written += [_raw_case(stack.spec, service, alert, case, _origin(stack, ("services", i, "alerts", j, "tests", k)))
                            for k, case in enumerate(alert.tests)]
            else:
                generated += alert_cases(stack.spec, service, alert, step)
        # Generated scenarios that cannot see each other share a timeline (test_groups); an author's cases
        # stay as written, after them.
        cases = side_by_side(generated, rule_reads(alert_groups(stack.spec, service))) + written
        rules = names.alert_rules_file(service.name).removeprefix("prometheus/")
        document = {"rule_files": [f"../{rules}"], "evaluation_interval": str(step), "tests": cases}
        out.append(yaml_artifact(names.alert_tests_file(service.name), document, header))
    return out


@dataclass
class Scenario:
    """Input series over time and what must be firing at chosen instants."""

    step: Duration
    series: list[dict[str, str]] = field(default_factory=list)
    checks: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)  # (step index, alerts)

    def case(self, alertname: str) -> dict[str, Any]:
        return {
            "interval": str(self.step),
            "input_series": self.series,
            "alert_rule_test": [
                {"eval_time": str(Duration(self.step * at)), "alertname": alertname, "exp_alerts": alerts}
                for at, alerts in self.checks
            ],
        }


def alert_cases(spec: Spec, service: Service, alert: Alert, step: Duration) -> list[dict[str, Any]]:
    match alert:
        case ErrorRatioAlert():
            return _error_ratio(spec, service, alert, step)
        case LatencyQuantileAlert():
            return _latency(spec, service, alert, step)
        case ThresholdAlert():
            return _threshold(spec, service, alert, step)
        case AbsentAlert():
            return _absent(spec, service, alert, step)
        case RateThresholdAlert():
            return _rate_threshold(spec, service, alert, step)
        case PredictLinearAlert():
            return _predict_linear(spec, service, alert, step)
        case GaugeRatioAlert():
            return _gauge_ratio(spec, service, alert, step)
        case TargetDownAlert():
            return _target_down(spec, service, alert, step)
        case WatchdogAlert():
            scenario = Scenario(step, [{"series": 'stackgen_test_placeholder', "values": "0"}])
            scenario.checks = [(1, [_expected(spec, service, alert, {}, 1.0)])]
            return [scenario.case(alert.name)]
        case RawAlert():
            return [_raw_case(spec, service, alert, case) for case in alert.tests]
    raise TypeError(alert)


def _origin(stack: Stack, path: Path_) -> str:
    """Where a hand-written test case is in the spec; promtool prints a failing case's name."""
    where = format_path(path)
    if stack.positions is None:
        return f"{stack.spec_name}: {where}"
    line, col = stack.positions.locate(path)
    return f"{stack.spec_name}:{line}:{col}: {where}"


def _raw_case(spec: Spec, service: Service, alert: RawAlert, case: dict[str, Any],
              origin: str | None = None) -> dict[str, Any]:
    """An author's test case with what stackgen adds to every alert filled into its expectations, so a
    test states only what its author means. What the author wrote wins, a name included."""
    static = alert_labels(service, alert)
    templates = alert_annotations(alert, service, spec)
    tests = []
    for check in case.get("alert_rule_test") or []:
        if not isinstance(check, dict) or check.get("alertname") != alert.name:
            tests.append(check)
            continue
        expected = []
        for exp in check.get("exp_alerts") or []:
            if not isinstance(exp, dict):
                expected.append(exp)
                continue
            written = dict(exp.get("exp_labels") or {})
            # $labels in annotations sees the expression's result, not the labels the rule adds.
            result = {k: str(v) for k, v in written.items() if k not in static}
            annotations = {k: render_template(v, result, 0.0) for k, v in templates.items()
                           if not VALUE_USED.search(v) and set(labels_used(v)) <= result.keys()}
            expected.append({**exp, "exp_labels": {**static, **written},
                             "exp_annotations": {**annotations, **(exp.get("exp_annotations") or {})}})
        tests.append({**check, "exp_alerts": expected})
    named = {"name": origin, **case} if origin else dict(case)
    return {**named, "alert_rule_test": tests} if "alert_rule_test" in case else named


# --- helpers ----------------------------------------------------------------------------------

def _steps(duration: Duration, step: Duration) -> int:
    return math.ceil(duration / step)


def _expected(spec: Spec, service: Service, alert: Alert, result_labels: dict[str, str],
              value: float) -> dict[str, Any]:
    labels = {**result_labels, **alert_labels(service, alert)}
    annotations = {k: render_template(v, result_labels, value)
                   for k, v in alert_annotations(alert, service, spec).items()}
    return {"exp_labels": labels, "exp_annotations": annotations}


def _series_name(metric: str, labels: dict[str, str]) -> str:
    body = ", ".join(f"{k}={promql_string(v)}" for k, v in sorted(labels.items()))
    return f"{metric}{{{body}}}"


def _counter(segments: list[tuple[float, int]]) -> str:
    """Expanding notation for a counter growing by `inc` per step over consecutive segments."""
    parts, last = [], None
    # Increments are rounded so float noise (1000 * 0.055 = 55.00000000000001) cannot make a later
    # segment start a hair below the previous value, which promtool would read as a counter reset.
    segments = [(round(inc, 6), steps) for inc, steps in segments]
    for inc, steps in segments:
        if last is None:
            parts.append(f"0+{number(inc)}x{steps}")
            last = inc * steps
        else:
            start = last + inc
            parts.append(f"{number(start)}+{number(inc)}x{steps - 1}")
            last = start + inc * (steps - 1)
    return " ".join(parts)


def _value_for(label: str, require: list[Matcher], avoid: list[Matcher] | None = None) -> str:
    """A label value satisfying every `require` matcher and failing at least one `avoid` matcher.

    Candidates come from what a matcher stands for (`unquoted`: `code="a\\"b"` means a"b), never from
    its spelling; _series_name quotes them again for PromQL.
    """
    mine = [m for m in require if m.label == label]
    candidates = [m.unquoted for m in mine if m.op == "="]
    candidates += [e for m in mine if m.op == "=~" and (e := example(m.unquoted))]
    related = [m.unquoted for m in (avoid or []) + mine if m.label == label]
    if any(v in ("true", "false") for v in related):
        candidates += ["true", "false"]
    # A neutral placeholder reads sensibly in any annotation ("requests to example failed"); status-like
    # values come only after it, for matchers that exclude it.
    candidates += ["example", f"{label}-example", "200", "500", "a", "0"]
    relevant_avoid = [m for m in (avoid or []) if m.label == label]
    for value in candidates:
        if all(m.matches(value) for m in mine) and (not relevant_avoid or not all(
                m.matches(value) for m in relevant_avoid)):
            return value
    raise ValueError(f"cannot synthesize a value for label {label!r}; give the alert kind 'raw' with tests")


def _series_labels(service: Service, metric: Metric, require: list[Matcher],
                   avoid: list[Matcher] | None = None) -> dict[str, str]:
    labels = {"job": names.job_name(service.name), "instance": f"{service.name}:{service.ports.metrics}"}
    for label in metric.labels:
        labels[label] = _value_for(label, require, avoid if avoid else None)
    return labels


def _traffic(min_rate: float | None, window: int, step: Duration) -> tuple[float, float | None]:
    """Events per step for a firing scenario, and for a sparse one (None without min_rate).

    Until the window is full, rate() divides the increase since the first sample by the whole window
    (a counter starting at 0 is not extrapolated), so after one step it sees 1/window of the true rate:
    busy traffic is twice min_rate even then. Sparse traffic is just under min_rate once the window is full.
    """
    if min_rate is None:
        return COUNT_PER_STEP, None
    return (max(COUNT_PER_STEP, round(2 * min_rate * step.seconds * window, 6)),
            round(min_rate * step.seconds * JUST_BELOW, 6))


def _metric(service: Service, selector: Selector) -> Metric:
    metric = service.metric(selector.metric)
    assert metric is not None, "resolve checked the contract"
    return metric


# --- kinds ------------------------------------------------------------------------------------

def _error_ratio(spec: Spec, service: Service, alert: ErrorRatioAlert, step: Duration) -> list[dict[str, Any]]:
    bad_metric, total_metric = _metric(service, alert.bad), _metric(service, alert.total)
    bad_labels = _series_labels(service, bad_metric, [*alert.bad.matchers, *alert.total.matchers])
    same_metric = alert.bad.metric == alert.total.metric
    # Only bad's own matchers tell a bad series from a good one; those total shares hold for both.
    distinct = [m for m in alert.bad.matchers if m not in alert.total.matchers]
    good_labels = _series_labels(service, total_metric, list(alert.total.matchers),
                                 distinct if same_metric else None)
    for label in alert.by:  # both series must fall in the same aggregation group
        good_labels[label] = bad_labels[label]
    result = {k: bad_labels[k] for k in ["job", *alert.by]}
    window = _steps(alert.window, step)
    pending = _steps(alert.for_, step)
    fire_ratio = min(alert.threshold * JUST_PAST, (alert.threshold + 1) / 2)
    silent_ratio = alert.threshold * JUST_BELOW

    busy, sparse = _traffic(alert.min_rate, window, step)

    def scenario(ratio: float, active: int, quiet: int, per_step: float = busy) -> Scenario:
        bad = per_step * ratio
        s = Scenario(step)
        s.series.append({"series": _series_name(alert.bad.metric, bad_labels),
                         "values": _counter([(bad, active), (0.0, quiet)] if quiet else [(bad, active)])})
        rest = per_step - bad if same_metric else per_step
        s.series.append({"series": _series_name(alert.total.metric, good_labels),
                         "values": _counter([(rest, active), (per_step, quiet)] if quiet else [(rest, active)])})
        return s

    fire_at = 1 + pending + 1  # first rate needs two samples; then `for`; then one step of margin
    fires = scenario(fire_ratio, fire_at + 2, 0)
    fires.checks = [(fire_at, [_expected(spec, service, alert, result, fire_ratio)])]
    if pending:
        fires.checks.insert(0, (pending, []))  # still pending: `for` has not elapsed
    silent = scenario(silent_ratio, fire_at + window + 2, 0)
    silent.checks = [(fire_at, []), (fire_at + window, [])]
    clear_at = fire_at + 1
    resolves = scenario(fire_ratio, clear_at, window + 4)
    resolves.checks = [(fire_at, [_expected(spec, service, alert, result, fire_ratio)]),
                       (clear_at + window + 2, [])]
    cases = [fires.case(alert.name), silent.case(alert.name), resolves.case(alert.name)]
    if sparse is not None:  # the firing ratio, on too little traffic: min_rate keeps it silent
        quiet = scenario(fire_ratio, fire_at + window + 2, 0, sparse)
        quiet.checks = [(fire_at, []), (fire_at + window, [])]
        cases.append(quiet.case(alert.name))
    return cases


def _latency(spec: Spec, service: Service, alert: LatencyQuantileAlert, step: Duration) -> list[dict[str, Any]]:
    metric = _metric(service, alert.histogram)
    buckets = list(metric.buckets or [])
    t = alert.threshold
    index = buckets.index(t)
    lower = buckets[index - 1] if index else 0.0
    upper = buckets[index + 1]
    beyond = 0.1 if alert.quantile > 0.2 else alert.quantile / 2  # fraction into the next bucket
    below_fraction = (alert.quantile - beyond) / (1 - beyond)
    fire_value = t + (upper - t) * beyond
    silent_value = lower + (t - lower) * alert.quantile
    labels = _series_labels(service, metric, list(alert.histogram.matchers))
    result = {k: labels[k] for k in ["job", *alert.by]}

    window = _steps(alert.window, step)
    busy, sparse = _traffic(alert.min_rate, window, step)

    def cumulative(bound: float, fire: bool, per_step: float) -> float:
        if fire:
            return 0.0 if bound < t else (per_step * below_fraction if bound == t else per_step)
        return 0.0 if bound < t else per_step

    def scenario(first_fire: bool, first_steps: int, second_steps: int, per_step: float = busy) -> Scenario:
        s = Scenario(step)
        # Only the buckets around the threshold shape the quantile; the others would repeat 0 or N.
        for bound in [b for b in buckets if lower <= b <= upper] + [math.inf]:
            le = "+Inf" if bound == math.inf else number(bound)
            segments = [(cumulative(bound, first_fire, per_step), first_steps)]
            if second_steps:
                segments.append((cumulative(bound, not first_fire, per_step), second_steps))
            s.series.append({"series": _series_name(f"{metric.name}_bucket", {**labels, "le": le}),
                             "values": _counter(segments)})
        if alert.min_rate is not None:  # the guard reads the observation count, which is the +Inf bucket
            s.series.append({"series": _series_name(f"{metric.name}_count", labels),
                             "values": _counter([(per_step, first_steps + second_steps)])})
        return s

    pending = _steps(alert.for_, step)
    fire_at = 1 + pending + 1
    fires = scenario(True, fire_at + 2, 0)
    fires.checks = (([(pending, [])] if pending else [])
                    + [(fire_at, [_expected(spec, service, alert, result, fire_value)])])
    silent = scenario(False, fire_at + window + 2, 0)
    silent.checks = [(fire_at, []), (fire_at + window, [])]
    clear_at = fire_at + 1
    resolves = scenario(True, clear_at, window + 4)
    resolves.checks = [(fire_at, [_expected(spec, service, alert, result, fire_value)]),
                       (clear_at + window + 2, [])]
    assert silent_value < t < fire_value
    cases = [fires.case(alert.name), silent.case(alert.name), resolves.case(alert.name)]
    if sparse is not None:  # the firing quantile, on too little traffic: min_rate keeps it silent
        quiet = scenario(True, fire_at + window + 2, 0, sparse)
        quiet.checks = [(fire_at, []), (fire_at + window, [])]
        cases.append(quiet.case(alert.name))
    return cases


def _threshold(spec: Spec, service: Service, alert: ThresholdAlert, step: Duration) -> list[dict[str, Any]]:
    metric = _metric(service, alert.gauge)
    labels = _series_labels(service, metric, list(alert.gauge.matchers))
    fire_value, silent_value = _gauge_values(metric.name, alert.op, alert.threshold)
    series = _series_name(metric.name, labels)
    pending = _steps(alert.for_, step)
    fire_at = pending + 1
    expected = _expected(spec, service, alert, labels, fire_value)

    def scenario(values: str, checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        s = Scenario(step, [{"series": series, "values": values}], checks)
        return s.case(alert.name)

    horizon = fire_at + 2
    return [
        scenario(f"{number(fire_value)}x{horizon}", ([(pending - 1, [])] if pending else []) + [(fire_at, [expected])]),
        scenario(f"{number(silent_value)}x{horizon}", [(fire_at, [])]),
        scenario(f"{number(fire_value)}x{fire_at} {number(silent_value)}x{4}",
                 [(fire_at, [expected]), (fire_at + 2, [])]),
    ]


def gauge_range(metric: str) -> tuple[float, float]:
    """The values a gauge can take, from its name's unit suffix (Prometheus naming conventions)."""
    if metric.endswith("_ratio"):
        return 0.0, 1.0
    if metric.endswith("_percent"):
        return 0.0, 100.0
    if metric.endswith(("_bytes", "_seconds", "_total", "_count", "_celsius_absolute", "_joules")):
        return 0.0, math.inf
    return -math.inf, math.inf


def _gauge_values(metric: str, op: str, t: float) -> tuple[float, float]:
    """A value just past the threshold and one just short of it, both inside the gauge's range (a
    ratio at 1.045 or a utilization at 104.5% is data the gauge can never report)."""
    return _values_in(op, t, *gauge_range(metric))


def _values_in(op: str, t: float, low: float, high: float) -> tuple[float, float]:
    """A value just past `t` in the direction of `op` and one just short of it, both within [low, high]."""
    upward = op in (">", ">=")
    if t == 0:
        fire_value, silent_value = (1.0, -1.0) if upward else (-1.0, 1.0)
    else:
        past, below = (JUST_PAST, JUST_BELOW) if (t > 0) == upward else (JUST_BELOW, JUST_PAST)
        fire_value, silent_value = round(t * past, 9), round(t * below, 9)
    # Halfway to the bound keeps the comparison's direction; at the bound itself only ">=" / "<=" can fire.
    if fire_value > high:
        fire_value = round((t + high) / 2, 9) if t < high else high
    if fire_value < low:
        fire_value = round((t + low) / 2, 9) if t > low else low
    if silent_value > high:
        silent_value = round((t + high) / 2, 9) if t < high else high
    if silent_value < low:
        silent_value = round((t + low) / 2, 9) if t > low else low
    return fire_value, silent_value


def _target_down(spec: Spec, service: Service, alert: TargetDownAlert, step: Duration) -> list[dict[str, Any]]:
    job = names.job_name(service.name)
    target = {"job": job, "instance": f"{service.name}:{service.ports.metrics}"}
    up = _series_name("up", target)
    pending = _steps(alert.for_, step)
    fire_at = pending + 1
    horizon = fire_at + 2

    def scenario(series: list[dict[str, str]], checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        return Scenario(step, series, checks).case(alert.name)

    down = _expected(spec, service, alert, target, 0.0)
    vanished = _expected(spec, service, alert, {"job": job}, 1.0)
    return [
        scenario([{"series": up, "values": f"0x{horizon}"}], ([(pending - 1, [])] if pending else []) + [(fire_at, [down])]),
        # The target is gone from discovery: no `up` series for the job at all.
        scenario([{"series": _series_name("up", {"job": "some-other-job", "instance": "x:1"}),
                   "values": f"1x{horizon}"}], [(fire_at, [vanished])]),
        scenario([{"series": up, "values": f"1x{horizon}"}], [(fire_at, [])]),
        scenario([{"series": up, "values": f"0x{fire_at} 1x4"}], [(fire_at, [down]), (fire_at + 2, [])]),
    ]


def _absent(spec: Spec, service: Service, alert: AbsentAlert, step: Duration) -> list[dict[str, Any]]:
    metric = _metric(service, alert.series)
    name = f"{metric.name}_count" if metric.type in COUNTED_TYPES else metric.name
    labels = _series_labels(service, metric, list(alert.series.matchers))
    present = _series_name(name, labels)
    result = {k: labels[k] for k in result_labels(alert, labels["job"])}
    pending = _steps(alert.for_, step)
    window = _steps(alert.window, step) if alert.window else 0
    fire_at = pending + 1
    horizon = fire_at + window + 2
    gone = _expected(spec, service, alert, result, 1.0)

    def scenario(series: list[dict[str, str]], checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        return Scenario(step, series, checks).case(alert.name)

    # Only another job exports the metric: the series the alert watches has no sample at all.
    elsewhere = {"series": _series_name(name, {**labels, "job": "some-other-job"}), "values": f"1x{horizon}"}
    appears_at = fire_at + 1
    # Exported, then gone (a stale marker, as a scrape writes when a series vanishes): silent while the
    # window still holds a sample, firing once it has held none for `for`.
    last = 2
    return [
        scenario([elsewhere], ([(pending - 1, [])] if pending else []) + [(fire_at, [gone])]),
        scenario([{"series": present, "values": f"1x{horizon}"}], [(fire_at, []), (fire_at + window, [])]),
        # Missing, then exported: the alert resolves as soon as a sample is there.
        scenario([elsewhere, {"series": present, "values": f"_x{appears_at} 1x4"}],
                 [(fire_at, [gone]), (appears_at + 1, [])]),
        scenario([elsewhere, {"series": present, "values": f"1x{last} stale"}],
                 [(last + window - 1, []), (last + window + pending + 2, [gone])]),
    ]


def _rate_threshold(spec: Spec, service: Service, alert: RateThresholdAlert, step: Duration) -> list[dict[str, Any]]:
    metric = _metric(service, alert.counter)
    labels = _series_labels(service, metric, list(alert.counter.matchers))
    result = {k: labels[k] for k in ["job", *alert.by]}
    series = _series_name(metric.name, labels)
    fire_rate, silent_rate = _values_in(alert.op, alert.threshold, 0.0, math.inf)
    per_step = {rate: round(rate * step.seconds, 6) for rate in (fire_rate, silent_rate)}
    window = _steps(alert.window, step)
    pending = _steps(alert.for_, step)
    # rate() sees a fraction of the true rate until its window is full (see _traffic), which could fire a
    # `<` alert early: every check comes after the window has filled.
    fire_at = window + pending + 1
    expected = _expected(spec, service, alert, result, fire_rate)

    def scenario(segments: list[tuple[float, int]], checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        return Scenario(step, [{"series": series, "values": _counter(segments)}], checks).case(alert.name)

    clear_at = fire_at + 1
    return [
        scenario([(per_step[fire_rate], fire_at + 2)], [(fire_at, [expected])]),
        scenario([(per_step[silent_rate], fire_at + window + 2)], [(window + 1, []), (fire_at, []), (fire_at + window, [])]),
        scenario([(per_step[fire_rate], clear_at), (per_step[silent_rate], window + 4)],
                 [(fire_at, [expected]), (clear_at + window + 2, [])]),
    ]


def _linear(start: float, slope: float, steps: int) -> str:
    """Expanding notation for a gauge moving by `slope` per step."""
    sign = "+" if slope >= 0 else "-"
    return f"{number(start)}{sign}{number(abs(slope))}x{steps}"


def _predict_linear(spec: Spec, service: Service, alert: PredictLinearAlert, step: Duration) -> list[dict[str, Any]]:
    metric = _metric(service, alert.gauge)
    labels = _series_labels(service, metric, list(alert.gauge.matchers))
    series = _series_name(metric.name, labels)
    ahead = alert.horizon / step  # the horizon in steps
    scale = abs(alert.threshold) or COUNT_PER_STEP  # a limit of 0 (free bytes) still gets believable data
    toward = 1.0 if alert.op == ">" else -1.0
    # Start 90% of the way short of the limit, moving so fast that it would be passed 10% before the
    # horizon ends: the prediction is past the limit from the first fit while the value stays short of it.
    start = round(alert.threshold - toward * 0.9 * scale, 9)
    slope = round(toward * scale / ahead, 9)
    pending = _steps(alert.for_, step)
    window = _steps(alert.window, step)
    fire_at = 1 + pending + 1  # the first fit needs two samples; then `for`; then one step of margin
    predicted = round(start + slope * (fire_at + ahead), 9)
    expected = _expected(spec, service, alert, labels, predicted)

    def scenario(values: str, checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        return Scenario(step, [{"series": series, "values": values}], checks).case(alert.name)

    clear_at = fire_at + 1
    return [
        scenario(_linear(start, slope, fire_at + 2), ([(pending, [])] if pending else []) + [(fire_at, [expected])]),
        # Short of the limit and flat: nothing to predict.
        scenario(f"{number(start)}x{fire_at + window + 2}", [(fire_at, []), (fire_at + window, [])]),
        # The growth stops and the value falls back: once the window holds only the flat part, it resolves.
        scenario(f"{_linear(start, slope, clear_at)} {number(start)}x{window + 4}",
                 [(fire_at, [expected]), (clear_at + window + 2, [])]),
    ]


def _gauge_ratio(spec: Spec, service: Service, alert: GaugeRatioAlert, step: Duration) -> list[dict[str, Any]]:
    num_metric, den_metric = _metric(service, alert.numerator), _metric(service, alert.denominator)
    same_metric = num_metric.name == den_metric.name
    # One metric split by a label (used/total): each side's series must escape the other's matchers.
    num_only = [m for m in alert.numerator.matchers if m not in alert.denominator.matchers]
    den_only = [m for m in alert.denominator.matchers if m not in alert.numerator.matchers]
    if same_metric and not (num_only and den_only):
        raise ValueError(f"alert {alert.name!r}: numerator and denominator select overlapping series of "
                         f"{num_metric.name!r}; give each its own matcher, or use kind 'raw' with tests")
    num_labels = _series_labels(service, num_metric, list(alert.numerator.matchers), den_only if same_metric else None)
    den_labels = _series_labels(service, den_metric, list(alert.denominator.matchers), num_only if same_metric else None)
    for label in alert.by:  # both sides must fall in the same group
        den_labels[label] = num_labels[label]
    result = {k: num_labels[k] for k in result_labels(alert, num_labels["job"])}
    low = 0.0 if min(gauge_range(num_metric.name)[0], gauge_range(den_metric.name)[0]) >= 0 else -math.inf
    fire_ratio, silent_ratio = _values_in(alert.op, alert.threshold, low, math.inf)
    pending = _steps(alert.for_, step)
    fire_at = pending + 1
    horizon = fire_at + 2
    expected = _expected(spec, service, alert, result, fire_ratio)
    num, den = _series_name(num_metric.name, num_labels), _series_name(den_metric.name, den_labels)

    def part(ratio: float) -> str:
        return number(round(COUNT_PER_STEP * ratio, 9))

    def scenario(values: str, checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        series = [{"series": num, "values": values}, {"series": den, "values": f"{number(COUNT_PER_STEP)}x{horizon + 4}"}]
        return Scenario(step, series, checks).case(alert.name)

    return [
        scenario(f"{part(fire_ratio)}x{horizon}", ([(pending - 1, [])] if pending else []) + [(fire_at, [expected])]),
        scenario(f"{part(silent_ratio)}x{horizon}", [(fire_at, [])]),
        scenario(f"{part(fire_ratio)}x{fire_at} {part(silent_ratio)}x4", [(fire_at, [expected]), (fire_at + 2, [])]),
    ]
