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

import math
from dataclasses import dataclass
from typing import Any

from stackgen.model import names
from stackgen.model.slo import Condition, SLOGroup, Tier
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.parsers.gotemplate import render as render_template
from stackgen.resolve import Stack
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO, AvailabilitySLI, LatencySLI
from stackgen.spec.types import Duration
from stackgen.targets.prometheus.alert_tests import JUST_BELOW, JUST_PAST, _counter, _series_labels, _series_name

EVALUATION_INTERVAL = Duration(1_800_000)
SAMPLE_INTERVALS = (EVALUATION_INTERVAL, Duration(900_000), Duration(300_000), Duration(60_000))
MIN_SAMPLES_PER_WINDOW = 5
# Whole events per sample step: integer counters add exactly in promtool's expanding notation, where
# fractional steps accumulate rounding and a tiny decrease at a segment boundary reads as a reset.
COUNT_PER_STEP = 1_000_000


def bad_per_step(ratio: float) -> int:
    """Bad events per step for an error ratio, quantized to 1e-6 (the simulation uses the same)."""
    return round(ratio * COUNT_PER_STEP)


def render(stack: Stack) -> list[Artifact]:
    header = names.header(stack.spec_name)
    out = []
    for service in stack.spec.services:
        if not service.slos:
            continue
        rules = names.slo_rules_file(service.name).removeprefix("prometheus/")
        cases = [case for group in stack.slos_of(service) for tier in group.tiers for case in tier_cases(group, tier)]
        document = {"rule_files": [f"../{rules}"], "evaluation_interval": str(EVALUATION_INTERVAL),
                    "tests": cases}
        out.append(yaml_artifact(names.slo_tests_file(service.name), document, header))
    return out


# --- the simulation -----------------------------------------------------------------------------

@dataclass
class Profile:
    """Synthetic traffic: COUNT_PER_STEP events per sample interval, a share of them bad."""

    interval: Duration
    segments: list[tuple[float, int]]  # (error ratio, sample steps)

    def cumulative(self) -> tuple[list[int], list[int]]:
        bad, total = [0], [0]
        for ratio, steps in self.segments:
            for _ in range(steps):
                bad.append(bad[-1] + bad_per_step(ratio))
                total.append(total[-1] + COUNT_PER_STEP)
        return bad, total

    @property
    def end(self) -> int:
        return self.interval * sum(steps for _, steps in self.segments)


class Simulation:
    """The error ratio each window sees at an instant, and the tier's alert state over time."""

    def __init__(self, profile: Profile, tier: Tier) -> None:
        self.profile, self.tier = profile, tier
        self.bad, self.total = profile.cumulative()  # exact integers

    def ratio(self, at: int, window: int) -> float | None:
        step = self.profile.interval
        last = at // step
        first = max(0, math.ceil((at - window) / step))
        if last >= len(self.total) or last - first < 1:
            return None
        return (self.bad[last] - self.bad[first]) / (self.total[last] - self.total[first])

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
        for at in range(0, until + 1, EVALUATION_INTERVAL):
            value = self.condition(at)
            since = (since if since is not None else at) if value is not None else None
            firing = value is not None and since is not None and at - since >= self.tier.for_
            out.append((at, value if firing else None))
        return out


_STATES: dict[tuple[Any, ...], list[tuple[int, float | None]]] = {}


def _states(profile: Profile, tier: Tier) -> list[tuple[int, float | None]]:
    """Simulated alert states, memoized: services sharing an SLO shape share the simulation."""
    key = (profile.interval, tuple(profile.segments), tier.for_,
           tuple((c.long, c.short, c.threshold) for c in tier.conditions))
    if key not in _STATES:
        _STATES[key] = Simulation(profile, tier).states(profile.end)
    return _STATES[key]


# --- scenarios ----------------------------------------------------------------------------------

def _interval(tier: Tier) -> Duration:
    shortest = min(c.short for c in tier.conditions)
    return next(i for i in SAMPLE_INTERVALS if shortest // i >= MIN_SAMPLES_PER_WINDOW)


def tier_cases(group: SLOGroup, tier: Tier) -> list[dict[str, Any]]:
    interval = _interval(tier)
    history = max(c.long for c in tier.conditions)
    out = []
    for c in tier.conditions:
        bound = c.threshold
        out.append(_fires_and_resolves(group, tier, c, interval, history, min(bound * JUST_PAST, (bound + 1) / 2)))
        out.append(_stays_silent(group, tier, c, interval, history, bound * JUST_BELOW))
    return out


def _fires_and_resolves(group: SLOGroup, tier: Tier, c: Condition, interval: Duration, history: int,
                        ratio: float) -> dict[str, Any]:
    healthy = history // interval
    onset_steps = (c.long + tier.for_ + EVALUATION_INTERVAL) // interval
    probe = Profile(interval, [(0.0, healthy), (ratio, onset_steps)])
    fired = [at for at, value in _states(probe, tier) if value is not None]
    if not fired or fired[0] > history + c.long + tier.for_:
        raise AssertionError(f"{tier.alert}: a ratio of {ratio} should fire within {c.long} of the onset")
    fire_at = fired[0]
    # Every condition of the tier must clear, so recovery is bounded by the tier's longest short window.
    recovery = max(other.short for other in tier.conditions)
    tail = (recovery + 2 * EVALUATION_INTERVAL) // interval
    profile = Profile(interval, [(0.0, healthy), (ratio, fire_at // interval - healthy), (0.0, tail)])
    states = _states(profile, tier)
    resolved = next(at for at, value in states if at > fire_at and value is None)
    if resolved > fire_at + recovery:
        raise AssertionError(f"{tier.alert}: should resolve within {recovery} of recovery")
    value_at = dict(states)
    checks: list[tuple[int, list[dict[str, Any]]]] = [(fire_at - EVALUATION_INTERVAL, [])]
    checks.append((fire_at, [_expected(group, tier, value_at[fire_at])]))
    last_firing = resolved - EVALUATION_INTERVAL
    if last_firing > fire_at:
        checks.append((last_firing, [_expected(group, tier, value_at[last_firing])]))
    checks.append((resolved, []))
    return _case(group, tier, profile, checks)


def _stays_silent(group: SLOGroup, tier: Tier, c: Condition, interval: Duration, history: int,
                  ratio: float) -> dict[str, Any]:
    profile = Profile(interval, [(0.0, history // interval), (ratio, c.long // interval)])
    states = _states(profile, tier)
    if any(value is not None for _, value in states):
        raise AssertionError(f"{tier.alert}: a ratio of {ratio} must never fire")
    onset = history
    instants = sorted({onset + c.short, onset + _align(c.long // 2), onset + c.long})
    return _case(group, tier, profile, [(at, []) for at in instants])


def _align(duration: int) -> int:
    return duration - duration % EVALUATION_INTERVAL


def _expected(group: SLOGroup, tier: Tier, value: float | None) -> dict[str, Any]:
    assert value is not None
    result = group.id_labels
    annotations = {k: render_template(v, result, value) for k, v in tier.annotations.items()}
    return {"exp_labels": {**result, **tier.labels}, "exp_annotations": annotations}


def _case(group: SLOGroup, tier: Tier, profile: Profile, checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        "name": f"{group.slo.name} {tier.tier}",
        "interval": str(profile.interval),
        "input_series": _series(group.service, group.slo, profile),
        "alert_rule_test": [{"eval_time": str(Duration(at)), "alertname": tier.alert, "exp_alerts": alerts}
                            for at, alerts in checks],
    }


def _series(service: Service, slo: SLO, profile: Profile) -> list[dict[str, str]]:
    """Counters whose increases give exactly the profile's error ratio through the SLI's selectors."""
    bad_segments = [(float(bad_per_step(r)), n) for r, n in profile.segments if n]
    good_segments = [(float(COUNT_PER_STEP - bad_per_step(r)), n) for r, n in profile.segments if n]
    all_segments = [(float(COUNT_PER_STEP), n) for _, n in profile.segments if n]
    sli = slo.sli
    if isinstance(sli, AvailabilitySLI):
        bad_metric, total_metric = service.metric(sli.bad.metric), service.metric(sli.total.metric)
        assert bad_metric is not None and total_metric is not None, "resolve checked the contract"
        bad_labels = _series_labels(service, bad_metric, [*sli.bad.matchers, *sli.total.matchers])
        if sli.bad.metric == sli.total.metric:
            # Good events match `total` and miss a bad matcher that `total` does not already imply.
            avoid = [m for m in sli.bad.matchers if m not in sli.total.matchers]
            good_labels = _series_labels(service, total_metric, list(sli.total.matchers), avoid)
            if all(m.matches(good_labels.get(m.label, "")) for m in sli.bad.matchers):
                raise ValueError(f"SLO {slo.name!r}: bad events must be a strict subset of total events")
            return [{"series": _series_name(sli.bad.metric, bad_labels), "values": _counter(bad_segments)},
                    {"series": _series_name(sli.total.metric, good_labels),
                     "values": _counter(good_segments)}]
        total_labels = _series_labels(service, total_metric, list(sli.total.matchers))
        return [{"series": _series_name(sli.bad.metric, bad_labels), "values": _counter(bad_segments)},
                {"series": _series_name(sli.total.metric, total_labels), "values": _counter(all_segments)}]
    assert isinstance(sli, LatencySLI)
    metric = service.metric(sli.histogram.metric)
    assert metric is not None, "resolve checked the contract"
    labels = _series_labels(service, metric, list(sli.histogram.matchers))
    le = names.histogram_le(sli.threshold)
    return [{"series": _series_name(f"{metric.name}_bucket", {**labels, "le": le}),
             "values": _counter(good_segments)},
            {"series": _series_name(f"{metric.name}_count", labels), "values": _counter(all_segments)}]

