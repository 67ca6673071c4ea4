"""promtool unit tests for every SLO tier, predicted by a small simulation of the rules.

For each burn-rate condition of each enabled tier, two scenarios run against the real rule file:

- *fires, then resolves*: a healthy history as long as the tier's longest window, then an error ratio
  just above factor x budget. The tier must be silent one evaluation before the predicted instant,
  fire at it (within the long window of the onset), and resolve when the errors stop, within the
  short window; the annotations are predicted with stackgen.parsers.gotemplate from the predicted value.
- *stays silent*: the same history, then an error ratio just below factor x budget for a whole long
  window; the tier never fires (the generator checks every evaluation, promtool a few).

The prediction re-implements what the rules mean (ratios of counter increases over each window,
both windows above the bound, `for`), independently of the PromQL text, so a wrong window, factor,
selector or label in the rules makes promtool disagree. Prometheus 2.x range semantics are assumed
(windows include their start); samples and evaluations are aligned so no extrapolation happens.

Windows reach 3 days, so evaluation is coarse (EVALUATION_INTERVAL) and the ticket tiers' input
series use that interval too; the page tiers use one-minute samples so a 5m window holds six.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from stackgen.model import names
from stackgen.model.promql import number
from stackgen.model.slo import Condition, ExtraAlert, SLOGroup, Tier
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.parsers.gotemplate import render as render_template
from stackgen.parsers.promql_analysis import analyze
from stackgen.resolve import Stack
from stackgen.spec.alerts import Selector
from stackgen.spec.service import Metric
from stackgen.spec.slo import AvailabilitySLI, BoolGaugeSLI, LatencySLI, RawSLI, instantiate
from stackgen.spec.types import Duration, Matcher
from stackgen.targets.prometheus.alert_tests import JUST_BELOW, JUST_PAST, _counter, _series_labels, _series_name

EVALUATION_INTERVAL = Duration(1_800_000)
# A shorter period's scaled windows (7d: a 1m short window) need finer evaluation and samples; a
# file evaluates at the largest of these that every tier's recovery (its longest short window) allows.
EVALUATION_INTERVALS = tuple(Duration.parse(d) for d in ("30m", "15m", "10m", "5m", "2m", "1m"))
SAMPLE_INTERVALS = tuple(Duration.parse(d) for d in ("30m", "15m", "10m", "6m", "5m", "4m", "3m", "2m", "1m", "30s",
                                                      "20s", "15s", "10s"))
MIN_SAMPLES_PER_WINDOW = 5
# Whole events per sample step: integer counters add exactly in promtool's expanding notation, where
# fractional steps accumulate rounding and a tiny decrease at a segment boundary reads as a reset.
COUNT_PER_STEP = 1_000_000
# The smallest threshold of an SLO must come to this many bad events per step, so 10% above or below
# it is still a different whole number: high objectives (99.9999 and up) get more events per step.
MIN_BAD_AT_THRESHOLD = 100
# Counters stay below 2**53, where float64 still holds every integer (promtool adds them up step by step).
EXACT_LIMIT = 2**53
# The SLI scenarios (traffic gap, no errors) sample every minute, so a 5m window always holds six samples.
SLI_INTERVAL = Duration(60_000)
GAP = Duration(1_800_000)
TOLERANCE = 1e-9


def events_per_step(group: SLOGroup) -> int:
    """Events per sample step for one SLO: COUNT_PER_STEP, times ten until its smallest threshold is
    MIN_BAD_AT_THRESHOLD events."""
    thresholds = [c.threshold for tier in group.tiers for c in tier.conditions] or [float(group.budget)]
    count = COUNT_PER_STEP
    while count * min(thresholds) < MIN_BAD_AT_THRESHOLD:
        count *= 10
    return count


def evaluation_interval(groups: Sequence[SLOGroup]) -> Duration:
    """30m for 28d/30d SLOs (their tests stay as fast as before); less where a tier must be seen to
    resolve within a shorter window, or the base window is shorter than a sixth of it."""
    limits = [max(c.short for c in tier.conditions) for g in groups for tier in g.tiers]
    limits += [g.base_window * 6 for g in groups]
    return next((e for e in EVALUATION_INTERVALS if all(e <= limit for limit in limits)), EVALUATION_INTERVALS[-1])


# The ticket tiers' windows reach days: their scenarios span up to six days, and promtool evaluates every
# rule of the file at every step, so at the page tiers' 30m they were 85% of the SLO tests' time. They get
# a file of their own, evaluated hourly: 1.9x faster in all (bench/results/check.md). 2h would halve it
# again but misses a short-window factor lowered from 1 to 0.8, which 30m and 1h catch
# (tests/slo/test_generated_tests.py mutates each factor and window of the ticket tier).
SLOW_EVALUATION_INTERVALS = (Duration.parse("1h"),)


def slow_evaluation_interval(groups: Sequence[SLOGroup], ev: Duration) -> Duration:
    """The evaluation interval of the ticket tiers' file: 1h where every ticket tier's longest short window
    allows it and a sample interval fits; `ev` (one file for all) otherwise."""
    tiers = [tier for g in groups if synthesisable(g) for tier in g.tiers if tier.tier == "ticket"]
    for e in SLOW_EVALUATION_INTERVALS:
        if tiers and e > ev and all(e <= max(c.short for c in t.conditions) and _fits(t, e) for t in tiers):
            return e
    return ev


def _fits(tier: Tier, ev: Duration) -> bool:
    try:
        _interval(tier, ev)
    except StopIteration:
        return False
    return True


def render(stack: Stack) -> list[Artifact]:
    header = names.header(stack.spec_name)
    out = []
    for service in stack.spec.services:
        if not service.slos:
            continue
        rules = names.slo_rules_file(service.name).removeprefix("prometheus/")
        groups = [g for g in stack.slos_of(service) if synthesisable(g)]
        ev = evaluation_interval(stack.slos_of(service))
        slow = slow_evaluation_interval(groups, ev)
        apart = (lambda tier: tier.tier == "ticket") if slow != ev else (lambda tier: False)
        cases = [case for group in groups
                 for case in [*sli_cases(group, ev),
                              *(c for tier in group.tiers if not apart(tier) for c in tier_cases(group, tier, ev)),
                              *(c for extra in group.extra_alerts for c in extra_cases(group, extra, ev))]]
        document = {"rule_files": [f"../{rules}"], "evaluation_interval": str(ev), "tests": side_by_side(cases)}
        out.append(yaml_artifact(names.slo_tests_file(service.name), document, header))
        if slow != ev:
            slow_cases = [c for group in groups for tier in group.tiers if apart(tier)
                          for c in tier_cases(group, tier, slow)]
            document = {"rule_files": [f"../{rules}"], "evaluation_interval": str(slow), "tests": side_by_side(slow_cases)}
            out.append(yaml_artifact(names.slo_ticket_tests_file(service.name), document, header))
    return out


def side_by_side(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alert cases of different SLOs that sample alike and check at the same instants, as one promtool test
    group. promtool evaluates every rule of the file at every step of every group, so two SLOs' scenarios on
    one timeline cost one. Only cases whose series share no metric name are combined: each SLO's rules read
    its own SLI's metrics alone (a raw SLI is tested only in that shape), so neither sees the other's
    traffic, and the SLOs' alert names differ (resolve checks it). Other cases stay as they are."""
    out: list[dict[str, Any]] = []
    for case in cases:
        into = next((o for o in out if _combinable(o, case)), None) if set(case) == _ALERT_CASE else None
        if into is None:
            out.append(dict(case))
        else:
            into.update(name=f"{into['name']} + {case['name']}", input_series=into["input_series"] + case["input_series"],
                        alert_rule_test=into["alert_rule_test"] + case["alert_rule_test"])
    return out


_ALERT_CASE = {"name", "interval", "input_series", "alert_rule_test"}


def _combinable(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def instants(case: dict[str, Any]) -> list[str]:
        return sorted({check["eval_time"] for check in case["alert_rule_test"]})

    def metrics(case: dict[str, Any]) -> set[str]:
        return {series["series"].split("{", 1)[0] for series in case["input_series"]}

    def alerts(case: dict[str, Any]) -> set[str]:
        return {check["alertname"] for check in case["alert_rule_test"]}

    return (set(a) == _ALERT_CASE and a["interval"] == b["interval"] and instants(a) == instants(b)
            and not metrics(a) & metrics(b) and not alerts(a) & alerts(b))


# --- the simulation -----------------------------------------------------------------------------

@dataclass
class Profile:
    """Synthetic traffic: `per_step` events per sample interval times a segment's volume, a share
    of them bad. A segment of volume 0 is a traffic gap: the counters stay flat."""

    interval: Duration
    segments: list[tuple[float, int]]  # (error ratio, sample steps)
    per_step: int = COUNT_PER_STEP
    volumes: tuple[int, ...] = ()  # per segment; 1 when left out
    evaluation: Duration = EVALUATION_INTERVAL  # the test file's evaluation_interval
    # A bool gauge's samples instead of counters: one sample per step (none in a gap) whose value is
    # 1 - the step's error ratio, read by sum_over_time/count_over_time over every sample in a window.
    gauge: bool = False

    def volume(self, n: int) -> int:
        return self.volumes[n] if n < len(self.volumes) else 1

    def bad_per_step(self, ratio: float, n: int) -> int:
        """Bad events per step of segment n, whole (the simulation uses the same)."""
        return round(ratio * self.per_step) * self.volume(n)

    def steps(self) -> list[tuple[int, int]]:
        """(bad, total) events per segment step, in segment order."""
        return [(self.bad_per_step(ratio, n), self.per_step * self.volume(n)) for n, (ratio, _) in enumerate(self.segments)]

    def cumulative(self) -> tuple[list[int], list[int]]:
        bad, total = [0], [0]
        for (bad_step, total_step), (_, steps) in zip(self.steps(), self.segments, strict=True):
            for _ in range(steps):
                bad.append(bad[-1] + bad_step)
                total.append(total[-1] + total_step)
        if total[-1] >= EXACT_LIMIT:
            raise ValueError(f"synthetic counters reach {total[-1]}, past float64's exact integers")
        return bad, total

    @property
    def end(self) -> int:
        return self.interval * sum(steps for _, steps in self.segments)

    def gauge_ratios(self) -> list[float | None]:
        """A bool gauge's error ratio at each sample (sample 0 as the first segment's), None in a gap."""
        out: list[float | None] = []
        for (bad, total), (_, steps) in zip(self.steps(), self.segments, strict=True):
            out += [bad / total if total else None] * steps
        return out[:1] + out

    def counts(self, at: int, window: int) -> tuple[float, float] | None:
        """(bad, all) events one window sees at `at`: counter increases (Prometheus 2.x: the window
        includes its start, and needs two samples), or a gauge's bad and all samples."""
        step = self.interval
        last, first = at // step, max(0, math.ceil((at - window) / step))
        if self.gauge:
            seen = [r for r in self.gauge_ratios()[first:last + 1] if r is not None]
            return (sum(seen), float(len(seen))) if seen else None
        bad, total = self._cumulative
        if last >= len(total) or last - first < 1:
            return None
        return bad[last] - bad[first], total[last] - total[first]

    @property
    def _cumulative(self) -> tuple[list[int], list[int]]:
        cached = self.__dict__.get("_cumulative_cache")
        if cached is None:
            cached = self.__dict__["_cumulative_cache"] = self.cumulative()
        return cached


class Simulation:
    """The error ratio each window sees at an instant, and the tier's alert state over time."""

    def __init__(self, profile: Profile, tier: Tier) -> None:
        self.profile, self.tier = profile, tier
        self.bad, self.total = profile.cumulative()  # exact integers

    def ratio(self, at: int, window: int) -> float | None:
        counts = self.profile.counts(at, window)
        return None if counts is None else counts[0] / counts[1]

    def condition(self, at: int) -> float | None:
        """The alert expression's value at `at` (the short window's ratio of the first true branch)."""
        for c in self.tier.conditions:
            short, long = self.ratio(at, c.short), self.ratio(at, c.long)
            if short is not None and long is not None and short > c.threshold and long > c.threshold:
                return short
        return None

    def states(self, until: int) -> list[tuple[int, float | None]]:
        """(instant, value when firing else None) at every evaluation up to `until`."""
        out, since = [], None
        for at in range(0, until + 1, self.profile.evaluation):
            value = self.condition(at)
            since = (since if since is not None else at) if value is not None else None
            firing = value is not None and since is not None and at - since >= self.tier.for_
            out.append((at, value if firing else None))
        return out


_STATES: dict[tuple[Any, ...], list[tuple[int, float | None]]] = {}


def _states(profile: Profile, tier: Tier) -> list[tuple[int, float | None]]:
    """Simulated alert states, memoized: services sharing an SLO shape share the simulation."""
    key = (profile.interval, tuple(profile.segments), profile.per_step, profile.volumes, profile.evaluation,
           profile.gauge, tier.for_,
           tuple((c.long, c.short, c.threshold) for c in tier.conditions))
    if key not in _STATES:
        _STATES[key] = Simulation(profile, tier).states(profile.end)
    return _STATES[key]


# --- scenarios ----------------------------------------------------------------------------------

def _interval(tier: Tier, ev: Duration) -> Duration:
    """The coarsest sampling that puts five samples in every window and divides the evaluation
    interval and every window: a window whose start falls between samples is extrapolated, and
    differently for a bad counter still at 0 than for the total, so the ratio would drift."""
    shortest = min(c.short for c in tier.conditions)
    spans = [ev, *(w for c in tier.conditions for w in (c.short, c.long))]
    return next(i for i in SAMPLE_INTERVALS
                if all(span % i == 0 for span in spans) and shortest // i >= MIN_SAMPLES_PER_WINDOW)


def tier_cases(group: SLOGroup, tier: Tier, ev: Duration = EVALUATION_INTERVAL) -> list[dict[str, Any]]:
    interval = _interval(tier, ev)
    history = max(c.long for c in tier.conditions)
    out = []
    for c in tier.conditions:
        bound = c.threshold
        out.append(_first_clear([partial(_fires_and_resolves, group, tier, c, interval, history,
                                         min(bound * k, (bound + 1) / 2), ev) for k in (JUST_PAST, *NUDGED_PAST)]))
        out.append(_first_clear([partial(_stays_silent, group, tier, c, interval, history, bound * k, ev)
                                 for k in (JUST_BELOW, *NUDGED_BELOW)]))
    return out


# With one alert name for both tiers, the other tier's alerts are predicted too; where one of its
# windows sits exactly on its threshold (float rounding decides), the ratio is nudged a little.
NUDGED_PAST = (1.11, 1.12, 1.13, 1.15)
NUDGED_BELOW = (0.89, 0.88, 0.87, 0.85)


class _OnTheEdge(Exception):
    """Another tier of the same name has a window ratio on its threshold at a checked instant."""


def _first_clear(candidates: list[Any]) -> dict[str, Any]:
    for make in candidates[:-1]:
        try:
            return make()
        except _OnTheEdge:
            continue
    return candidates[-1]()


def _fires_and_resolves(group: SLOGroup, tier: Tier, c: Condition, interval: Duration, history: int,
                        ratio: float, ev: Duration) -> dict[str, Any]:
    healthy = history // interval
    onset_steps = (c.long + tier.for_ + ev) // interval
    probe = Profile(interval, [(0.0, healthy), (ratio, onset_steps)], events_per_step(group),
                    gauge=_is_gauge(group), evaluation=ev)
    fired = [at for at, value in _states(probe, tier) if value is not None]
    if not fired or fired[0] > history + c.long + tier.for_ + ev:  # the first evaluation after the long window
        raise AssertionError(f"{tier.alert}: a ratio of {ratio} should fire within {c.long} of the onset")
    fire_at = fired[0]
    # Every condition of the tier must clear, so recovery is bounded by the tier's longest short window.
    recovery = max(other.short for other in tier.conditions)
    tail = (recovery + 2 * ev) // interval
    profile = Profile(interval, [(0.0, healthy), (ratio, fire_at // interval - healthy), (0.0, tail)],
                      events_per_step(group), gauge=_is_gauge(group), evaluation=ev)
    states = _states(profile, tier)
    resolved = next(at for at, value in states if at > fire_at and value is None)
    if resolved > fire_at + recovery:
        raise AssertionError(f"{tier.alert}: should resolve within {recovery} of recovery")
    instants = [fire_at - ev, fire_at, *([resolved - ev] if resolved - ev > fire_at else []), resolved]
    return _case(group, tier, profile, [(at, _alerts_at(group, tier, profile, at)) for at in instants])


def _alerts_at(group: SLOGroup, tier: Tier, profile: Profile, at: int) -> list[dict[str, Any]]:
    """The alerts named like `tier` firing at `at`: its own, and with one name for both tiers (Sloth's
    style) the other tier's too, each told apart by its sloth_severity."""
    out = []
    for other in group.tiers:
        if other.alert == tier.alert:
            if other is not tier and _on_the_edge(Simulation(profile, other), at):
                raise _OnTheEdge(other.alert)
            value = dict(_states(profile, other)).get(at)
            if value is not None:
                out.append(_expected(group, other, value))
    return out


def _stays_silent(group: SLOGroup, tier: Tier, c: Condition, interval: Duration, history: int,
                  ratio: float, ev: Duration) -> dict[str, Any]:
    profile = Profile(interval, [(0.0, history // interval), (ratio, c.long // interval)], events_per_step(group),
                      gauge=_is_gauge(group), evaluation=ev)
    states = _states(profile, tier)
    if any(value is not None for _, value in states):
        raise AssertionError(f"{tier.alert}: a ratio of {ratio} must never fire")
    onset = history
    instants = sorted({onset + c.short, onset + _align(c.long // 2, ev), onset + c.long})
    return _case(group, tier, profile, [(at, _alerts_at(group, tier, profile, at)) for at in instants])


def _align(duration: int, ev: Duration) -> int:
    return duration - duration % ev


def _by_values(group: SLOGroup) -> dict[str, str]:
    """The `by` label values of the synthetic series (those of the bad or histogram series)."""
    if not group.by:
        return {}
    sli = group.slo.sli
    if isinstance(sli, AvailabilitySLI):
        sel, matchers = sli.bad, [*sli.bad.matchers, *sli.total.matchers]
    elif isinstance(sli, BoolGaugeSLI):
        sel, matchers = sli.gauge, list(sli.gauge.matchers)
    else:
        assert isinstance(sli, LatencySLI), "a raw SLI has no `by`"
        sel, matchers = sli.histogram, list(sli.histogram.matchers)
    metric = group.contract.metric(sel.metric)
    assert metric is not None, "resolve checked the contract"
    labels = _series_labels(group.contract, metric, matchers)
    return {label: labels[label] for label in group.by}


def _expected(group: SLOGroup, tier: Tier, value: float | None) -> dict[str, Any]:
    assert value is not None
    result = {**group.id_labels, **_by_values(group)}
    annotations = {k: render_template(v, result, value) for k, v in tier.annotations.items()}
    return {"exp_labels": {**result, **tier.labels}, "exp_annotations": annotations}


def _case(group: SLOGroup, tier: Tier, profile: Profile, checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        "name": f"{group.slo.name} {tier.tier}",
        "interval": str(profile.interval),
        "input_series": _series(group, profile),
        "alert_rule_test": [{"eval_time": str(Duration(at)), "alertname": tier.alert, "exp_alerts": alerts}
                            for at, alerts in checks],
    }


# --- the SLI records: traffic gaps and services that never failed --------------------------------

def sli_cases(group: SLOGroup, ev: Duration = EVALUATION_INTERVAL) -> list[dict[str, Any]]:
    return [_gap_case(group, ev), _no_errors_case(group, ev)]


def period_ratio(group: SLOGroup, profile: Profile, at: int) -> float | None:
    """The period's error ratio the rules record at `at`, from the base window's rates at every
    evaluation of the period: weighted by traffic, or Sloth's mean of the ratios with traffic."""
    rates = []
    for t in range(0, at + 1, profile.evaluation):
        # Counters start at 0 at time 0, so a window reaching before it is not extrapolated: its
        # increase is simply all there is. A window needs two samples.
        counts = profile.counts(t, int(group.base_window))
        if t < at - group.slo.period or counts is None:
            continue
        rates.append(counts)
    with_traffic = [(b, n) for b, n in rates if n > 0]
    if not with_traffic:
        return None
    if group.slo.period_sli == "weighted":
        return sum(b for b, _ in with_traffic) / sum(n for _, n in with_traffic)
    return sum(b / n for b, n in with_traffic) / len(with_traffic)


def _gap_case(group: SLOGroup, ev: Duration) -> dict[str, Any]:
    """Errors at half the budget's pace for 2h, 30 minutes without a single request (longer if the
    base window is), then 1h of healthy traffic three times as heavy: the base window's ratio has
    no sample at the end of the gap (not NaN), and the remaining budget afterwards is finite and
    exactly what the chosen period SLI gives (weighted and average differ: the traffic is uneven)."""
    hour = 3_600_000 // SLI_INTERVAL
    quiet = max(GAP, group.base_window)
    quiet = Duration(-(-quiet // ev) * ev)  # whole evaluations, so one of them sees only the gap
    segments = [(float(group.budget) / 2, 2 * hour), (0.0, quiet // SLI_INTERVAL), (0.0, hour)]
    profile = Profile(SLI_INTERVAL, segments, events_per_step(group), gauge=_is_gauge(group), volumes=(1, 0, 3), evaluation=ev)
    gap, end = Duration(2 * hour * SLI_INTERVAL + quiet), Duration(profile.end)
    ratio = period_ratio(group, profile, end)
    assert ratio is not None
    remaining = 1 - ratio / float(group.budget_literal)
    budget_record = f"{names.SLO_BUDGET_REMAINING_RECORD}{group.id_filter}"
    # As in Sloth, the period burn rate and remaining budget keep the period ratio's `sloth_window`.
    period_labels = {**group.id_labels, **(group.labels or {}), **_by_values(group),
                     names.SLO_WINDOW_LABEL: group.period_window}
    return {
        "name": f"{group.slo.name}: a {quiet} traffic gap leaves the budget finite",
        "interval": str(profile.interval),
        "input_series": _series(group, profile),
        "promql_expr_test": [
            {"expr": f"{group.error_records[group.base_window]}{group.id_filter}", "eval_time": str(gap),
             "exp_samples": []},
            {"expr": f"abs({budget_record} - {number(remaining)}) < bool {TOLERANCE}", "eval_time": str(end),
             "exp_samples": [{"labels": _labels(period_labels), "value": 1}]},
        ],
    }


def _no_errors_case(group: SLOGroup, ev: Duration) -> dict[str, Any]:
    """An hour of traffic that never failed: no bad series exists at all (a latency SLI's bucket
    equals its count), yet every window's error ratio is 0 and the whole budget remains."""
    hour = 3_600_000 // SLI_INTERVAL
    profile = Profile(SLI_INTERVAL, [(0.0, hour)], events_per_step(group), gauge=_is_gauge(group), evaluation=ev)
    end = str(Duration(profile.end))
    records = [{"expr": f"{record}{group.id_filter}", "eval_time": end,
                "exp_samples": [{"labels": _labels({**group.id_labels, **(group.labels or {}), **_by_values(group),
                                                    names.SLO_WINDOW_LABEL: names.prom_duration(window)}, record),
                                 "value": 0}]}
               for window, record in group.error_records.items()]
    records.append({"expr": f"{names.SLO_BUDGET_REMAINING_RECORD}{group.id_filter}", "eval_time": end,
                    "exp_samples": [{"labels": _labels({**group.id_labels, **(group.labels or {}), **_by_values(group),
                                                        names.SLO_WINDOW_LABEL: group.period_window},
                                                       names.SLO_BUDGET_REMAINING_RECORD),
                                     "value": 1}]})
    return {
        "name": f"{group.slo.name}: no errors yet gives ratios of 0, not nothing",
        "interval": str(profile.interval),
        "input_series": _series(group, profile, with_bad=False),
        "promql_expr_test": records,
    }


def _labels(labels: dict[str, str], metric: str | None = None) -> str:
    return _series_name(metric or "", labels)


def _is_gauge(group: SLOGroup) -> bool:
    return isinstance(group.slo.sli, BoolGaugeSLI)


def raw_selectors(group: SLOGroup) -> tuple[Selector, Selector] | None:
    """A raw SLI's (bad, total) selectors where both queries are `sum(rate(SELECTOR[{{.window}}]))`
    (the shape the generated tests can feed series to); None for any other raw query."""
    out = []
    for query in group.events:
        analysis = analyze(instantiate(query, "5m"))
        if (len(analysis.selectors) != 1 or [c.function for c in analysis.calls] != ["rate"]
                or [(a.op, a.by or None, a.without) for a in analysis.aggregations] != [("sum", None, None)]):
            return None
        sel = analysis.selectors[0]
        if sel.metric is None:
            return None
        matchers = [Matcher.parse(f"{m.label}{m.op}{json.dumps(m.value)}") for m in sel.matchers]
        metric = sel.metric.removesuffix("_count") if group.contract.metric(sel.metric) is None else sel.metric
        out.append(Selector(metric=metric, matchers=matchers))
    return out[0], out[1]


def synthesisable(group: SLOGroup) -> bool:
    """Whether the generator can feed the SLI series: any SLI of selectors, and a raw SLI of the
    `sum(rate(SELECTOR[{{.window}}]))` shape whose metrics the contract declares (resolve checked them)."""
    if not group.raw:
        return True
    found = raw_selectors(group)
    return found is not None and all(group.contract.metric(sel.metric) is not None for sel in found)


def _series(group: SLOGroup, profile: Profile, with_bad: bool = True) -> list[dict[str, str]]:
    """Counters whose increases give exactly the profile's error ratio through the SLI's selectors
    (a bool gauge: its samples). Without `with_bad`, an availability SLI's bad series does not exist
    (the service never failed). The series carry the SLI's job; its contract names their labels."""
    service, slo = group.contract, group.slo
    steps = [(step, n) for step, (_, n) in zip(profile.steps(), profile.segments, strict=True) if n]
    bad_segments = [(float(bad), n) for (bad, _), n in steps]
    good_segments = [(float(total - bad), n) for (bad, total), n in steps]
    all_segments = [(float(total), n) for (_, total), n in steps]
    sli = slo.sli

    def labelled(metric: Metric, require: list[Matcher], avoid: list[Matcher] | None = None) -> dict[str, str]:
        labels = _series_labels(service, metric, require, avoid)
        job = next((m.unquoted for m in require if m.label == "job" and m.op == "="), group.job)
        return {**labels, "job": job}

    if isinstance(sli, BoolGaugeSLI):
        metric = service.metric(sli.gauge.metric)
        assert metric is not None, "resolve checked the contract"
        return [{"series": _series_name(metric.name, labelled(metric, list(sli.gauge.matchers))),
                 "values": _gauge(profile)}]
    if isinstance(sli, AvailabilitySLI | RawSLI):
        if isinstance(sli, RawSLI):
            found = raw_selectors(group)
            assert found is not None, "render skips a raw SLI without series"
            bad_sel, total_sel = found
        else:
            bad_sel, total_sel = sli.bad, sli.total
        bad_metric, total_metric = service.metric(bad_sel.metric), service.metric(total_sel.metric)
        assert bad_metric is not None and total_metric is not None, "resolve checked the contract"
        bad_labels = labelled(bad_metric, [*bad_sel.matchers, *total_sel.matchers])

        def counted(metric: Metric) -> str:  # a histogram's events are its _count
            return f"{metric.name}_count" if metric.type == "histogram" else metric.name

        bad = [{"series": _series_name(counted(bad_metric), bad_labels), "values": _counter(bad_segments)}] \
            if with_bad else []
        if bad_sel.metric == total_sel.metric:
            # Good events match `total` and miss a bad matcher that `total` does not already imply.
            avoid = [m for m in bad_sel.matchers if m not in total_sel.matchers]
            good_labels = labelled(total_metric, list(total_sel.matchers), avoid)
            for label in slo.by:  # both series must fall in the same budget
                good_labels[label] = bad_labels[label]
            if all(m.matches(good_labels.get(m.label, "")) for m in bad_sel.matchers):
                raise ValueError(f"SLO {slo.name!r}: bad events must be a strict subset of total events")
            return [*bad, {"series": _series_name(counted(total_metric), good_labels), "values": _counter(good_segments)}]
        total_labels = labelled(total_metric, list(total_sel.matchers))
        for label in slo.by:
            total_labels[label] = bad_labels[label]
        return [*bad, {"series": _series_name(counted(total_metric), total_labels), "values": _counter(all_segments)}]
    assert isinstance(sli, LatencySLI)
    metric = service.metric(sli.histogram.metric)
    assert metric is not None, "resolve checked the contract"
    labels = labelled(metric, list(sli.histogram.matchers))
    le = names.histogram_le(sli.threshold)
    return [{"series": _series_name(f"{metric.name}_bucket", {**labels, "le": le}),
             "values": _counter(good_segments)},
            {"series": _series_name(f"{metric.name}_count", labels), "values": _counter(all_segments)}]


def _gauge(profile: Profile) -> str:
    """A bool gauge's samples in expanding notation: 1 - the error ratio at each, `_` in a gap."""
    parts: list[str] = []
    ratios = profile.gauge_ratios()
    k = 0
    while k < len(ratios):
        run = next((j for j in range(k, len(ratios)) if ratios[j] != ratios[k]), len(ratios)) - k
        value = ratios[k]
        parts.append(f"_x{run}" if value is None else f"{number(1 - value)}+0x{run - 1}")
        k += run
    return " ".join(parts)


def _on_the_edge(simulation: Simulation, at: int) -> bool:
    for c in simulation.tier.conditions:
        for window in (c.short, c.long):
            ratio = simulation.ratio(at, window)
            if ratio is not None and abs(ratio - c.threshold) <= 1e-9 * c.threshold:
                return True
    return False


# --- the opt-in alerts: budget exhausted, SLI absent ---------------------------------------------

def extra_cases(group: SLOGroup, extra: ExtraAlert, ev: Duration = EVALUATION_INTERVAL) -> list[dict[str, Any]]:
    if extra.kind == "budget_exhausted":
        return [_exhausted_case(group, extra, ev, fires) for fires in (True, False)]
    return _absent_cases(group, extra, ev)


def _held(condition: list[tuple[int, float | None]], for_: Duration) -> list[tuple[int, float | None]]:
    """Alert states from the expression's value at each evaluation (None: no result), with `for`."""
    out, since = [], None
    for at, value in condition:
        since = (since if since is not None else at) if value is not None else None
        out.append((at, value if value is not None and since is not None and at - since >= for_ else None))
    return out


def _exhausted_case(group: SLOGroup, extra: ExtraAlert, ev: Duration, fires: bool) -> dict[str, Any]:
    """Two hours of errors at twice the budget's pace (the period's budget is spent: fires), or at
    half of it (half the budget remains: silent), predicted from the period ratio at each evaluation."""
    budget = float(group.budget_literal)
    ratio = min(2 * budget, 1.0) if fires else budget / 2
    hours = 2 * 3_600_000 // SLI_INTERVAL + (extra.for_ + ev) // SLI_INTERVAL
    profile = Profile(SLI_INTERVAL, [(ratio, hours)], events_per_step(group), gauge=_is_gauge(group), evaluation=ev)
    values = []
    for at in range(0, profile.end + 1, ev):
        period = period_ratio(group, profile, at)
        remaining = None if period is None else 1 - period / budget
        values.append((at, remaining if remaining is not None and remaining <= 0 else None))
    states = _held(values, extra.for_)
    firing = [at for at, value in states if value is not None]
    if fires != bool(firing):
        raise AssertionError(f"{extra.alert}: errors at {ratio} should {'' if fires else 'not '}spend the budget")
    result = {**group.id_labels, **_by_values(group)}
    value_at = dict(states)

    def expected(at: int) -> list[dict[str, Any]]:
        value = value_at.get(at)
        if value is None:
            return []
        annotations = {k: render_template(v, result, value) for k, v in extra.annotations.items()}
        return [{"exp_labels": {**result, **(group.labels or {}), **extra.labels}, "exp_annotations": annotations}]

    instants = [firing[0] - ev, firing[0], profile.end - profile.end % ev] if fires else \
        sorted({ev, _align(profile.end // 2, ev), profile.end - profile.end % ev})
    return {"name": f"{group.slo.name} {extra.alert}: {'spent' if fires else 'half left'}",
            "interval": str(profile.interval), "input_series": _series(group, profile),
            "alert_rule_test": [{"eval_time": str(Duration(at)), "alertname": extra.alert, "exp_alerts": expected(at)}
                                for at in instants if at >= 0]}


def _absent_cases(group: SLOGroup, extra: ExtraAlert, ev: Duration) -> list[dict[str, Any]]:
    """No total series at all (only another job's): fires once `for` has passed; the SLI's own
    series present: silent."""
    fire_at = -(-extra.for_ // ev) * ev  # the first evaluation `for` after the first one
    steps = (fire_at + ev) // SLI_INTERVAL + 1
    profile = Profile(SLI_INTERVAL, [(0.0, steps)], events_per_step(group), gauge=_is_gauge(group), evaluation=ev)
    present = _series(group, profile)
    elsewhere = [{**series, "series": series["series"].replace(f'job="{group.job}"',
                                                               'job="some-other-job"')} for series in present]
    annotations = {k: render_template(v, extra.result_labels, 1.0) for k, v in extra.annotations.items()}
    gone = {"exp_labels": {**extra.result_labels, **extra.labels}, "exp_annotations": annotations}

    def case(name: str, series: list[dict[str, str]], checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
        return {"name": f"{group.slo.name} {extra.alert}: {name}", "interval": str(profile.interval),
                "input_series": series,
                "alert_rule_test": [{"eval_time": str(Duration(at)), "alertname": extra.alert, "exp_alerts": alerts}
                                    for at, alerts in checks if at >= 0]}

    before = [(fire_at - ev, [])] if extra.for_ else []
    return [case("gone", elsewhere, [*before, (fire_at, [gone])]),
            case("exported", present, [(fire_at, []), (fire_at + ev, [])])]
