"""The SLO domain: burn-rate windows and factors, and everything one SLO's outputs share.

The Google SRE workbook's multi-window multi-burn-rate method alerts when the error budget is being
spent too fast: a tier fires when, over a long window, the service spent a given share of the whole
period's budget, confirmed by a short window (1/12 of the long one) so the alert resets quickly after
recovery. The factor a window's error ratio is compared against is

    factor = budget share x period / long window      (error ratio > factor x (1 - objective))

so the table below holds shares, not factors: a 30d period gives 14.4, 6, 3, 1 and a 28d period
13.44, 5.6, 2.8, 0.93, computed exactly with fractions.

`slo_group` is the one computation: resolve runs it once per SLO and keeps the frozen `SLOGroup` on
the Stack, which the rule files, their promtool tests, the routing tests, the dashboards and the drill
read, so they cannot disagree about a window, a factor or a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from stackgen.model import names
from stackgen.model.promql import selector
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO, AvailabilitySLI, LatencySLI
from stackgen.spec.types import Duration, Severity

TIERS = ("page", "ticket")
DEFAULT_SEVERITY: dict[str, Severity] = {"page": "critical", "ticket": "warning"}

# (tier, long window, short window, share of the period's error budget spent over the long window)
BURN_RATE_WINDOWS: tuple[tuple[str, str, str, str], ...] = (
    ("page", "1h", "5m", "0.02"),
    ("page", "6h", "30m", "0.05"),
    ("ticket", "1d", "2h", "0.10"),
    ("ticket", "3d", "6h", "0.10"),
)


@dataclass(frozen=True)
class Condition:
    """One (long window, short window) pair of a tier; both windows must exceed factor x budget."""

    long: Duration
    short: Duration
    budget_share: Fraction
    factor: Fraction
    factor_literal: str  # as written into PromQL: the shortest float that round-trips
    factor_text: str  # for people: two decimals at most (14.4, 6, 0.93)
    # The error ratio it fires above, as Prometheus computes `(factor * budget)` from the literals.
    threshold: float


@dataclass(frozen=True)
class Tier:
    """An enabled alerting tier of one SLO, with every default filled in."""

    tier: str
    alert: str
    severity: Severity
    for_: Duration
    conditions: tuple[Condition, ...]
    expr: str
    labels: dict[str, str]  # routing keys exactly as ordinary alerts carry them, then the tier's own
    annotations: dict[str, str]


@dataclass(frozen=True)
class SLOGroup:
    """One SLO of one service as its rule group sees it (Sloth's MWMBAlertGroup, plus the names)."""

    service: Service
    slo: SLO
    rule_group: str
    objective_literal: str
    budget: Fraction
    budget_literal: str
    period_days: int
    tiers: tuple[Tier, ...]  # enabled, page first
    # Every window an SLI error ratio is recorded for (all tiers, enabled or not), then the period.
    error_records: dict[Duration, str]
    # The shortest window: the period ratio and the current burn rate are derived from it.
    base_window: Duration
    id_labels: dict[str, str]  # also every label an SLO alert's expression result carries
    id_filter: str
    # The SLI's events: (numerator, denominator) selectors; the numerator counts good events for a
    # latency SLI (so the error ratio is 1 - good/total) and bad events for an availability SLI.
    events: tuple[str, str]
    counts_good: bool

    @property
    def windows(self) -> tuple[Duration, ...]:
        return tuple(self.error_records)

    def error_expr(self, window: Duration) -> str:
        """The error ratio of the SLI over one window, straight from the metric contract's series."""
        numerator, denominator = (f"sum(rate({sel}[{window}]))" for sel in self.events)
        if self.counts_good:
            return f"1 - (\n  {numerator}\n  /\n  {denominator}\n)"
        return f"{numerator}\n/\n{denominator}"


def conditions(tier: str, period: Duration, budget: Fraction) -> tuple[Condition, ...]:
    budget_value = float(_literal(budget))
    out = []
    for name, long, short, share in BURN_RATE_WINDOWS:
        if name == tier:
            long_d, short_d, share_f = Duration.parse(long), Duration.parse(short), Fraction(share)
            factor = share_f * Fraction(int(period), int(long_d))
            literal = _literal(factor)
            out.append(Condition(long_d, short_d, share_f, factor, literal, format_factor(factor),
                                 float(literal) * budget_value))
    return tuple(out)


def budget(slo: SLO) -> Fraction:
    """1 - objective, exactly: 99.5 gives 1/200, not 0.0050000000000000044."""
    return (100 - Fraction(repr(slo.objective))) / 100


def _literal(value: Fraction) -> str:
    number = float(value)
    return str(int(number)) if number == int(number) else repr(number)


def has_dashboard(service: Service) -> bool:
    """Whether the Grafana target renders the service's error-budget dashboard: it has SLOs and its
    dashboards are enabled (the SLO dashboard links back to the operations dashboard)."""
    return bool(service.slos) and service.dashboards.enabled


def slo_group(service: Service, slo: SLO, grafana_url: str | None = None) -> SLOGroup:
    """Every derived fact of one SLO. With `grafana_url` (the spec's grafana.url), the alerts'
    `dashboard_url` points at the service's error-budget dashboard."""
    slo_budget = budget(slo)
    by_tier = {tier: conditions(tier, slo.period, slo_budget) for tier in TIERS}
    windows = sorted({w for found in by_tier.values() for c in found for w in (c.long, c.short)})
    ids = {names.SLO_ID_LABEL: names.slo_id(service.name, slo.name), names.SLO_SERVICE_LABEL: service.name,
           names.SLO_NAME_LABEL: slo.name}
    flt = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(ids.items())) + "}"
    budget_text = _literal(slo_budget)
    tiers = []
    for tier in TIERS:
        spec = getattr(slo.alerting, tier)
        if not spec.enabled:
            continue
        severity = spec.severity or DEFAULT_SEVERITY[tier]
        tiers.append(Tier(
            tier=tier, alert=spec.name or names.slo_alert_name(slo.name, tier), severity=severity, for_=spec.for_,
            conditions=by_tier[tier], expr=_alert_expr(flt, budget_text, by_tier[tier]),
            labels={names.SEVERITY_LABEL: severity, names.SERVICE_LABEL: service.name, names.TEAM_LABEL: service.team,
                    names.SLO_SEVERITY_LABEL: tier, **spec.labels},
            annotations=_annotations(service, slo, tier, grafana_url) | spec.annotations))
    return SLOGroup(
        service=service, slo=slo, rule_group=names.slo_group(service.name, slo.name),
        objective_literal=_literal(Fraction(repr(slo.objective)) / 100), budget=slo_budget,
        budget_literal=budget_text, period_days=int(slo.period) // 86_400_000, tiers=tuple(tiers),
        error_records={w: names.sli_error_record(str(w)) for w in [*windows, slo.period]},
        base_window=min(Duration.parse(short) for _, _, short, _ in BURN_RATE_WINDOWS),
        id_labels=ids, id_filter=flt, events=_events(service, slo), counts_good=isinstance(slo.sli, LatencySLI))


def _events(service: Service, slo: SLO) -> tuple[str, str]:
    job = names.job_name(service.name)
    sli = slo.sli
    if isinstance(sli, AvailabilitySLI):
        return (selector(sli.bad.metric, sli.bad.matchers, job), selector(sli.total.metric, sli.total.matchers, job))
    le = f'le="{names.histogram_le(sli.threshold)}"'
    return (selector(f"{sli.histogram.metric}_bucket", [*sli.histogram.matchers, le], job),
            selector(f"{sli.histogram.metric}_count", sli.histogram.matchers, job))


def _alert_expr(flt: str, budget_text: str, tier_conditions: tuple[Condition, ...]) -> str:
    """Sloth's MWMB expression; `max without (sloth_window)` keeps one alert identity across branches."""
    branches = []
    for c in tier_conditions:
        bound = f"({c.factor_literal} * {budget_text})"
        branches.append(f"  (\n    ({names.sli_error_record(str(c.short))}{flt} > {bound})\n"
                        f"    and ignoring ({names.SLO_WINDOW_LABEL})\n"
                        f"    ({names.sli_error_record(str(c.long))}{flt} > {bound})\n  )")
    joined = f"\n  or ignoring ({names.SLO_WINDOW_LABEL})\n".join(branches)
    return f"max without ({names.SLO_WINDOW_LABEL}) (\n{joined}\n)"


def _annotations(service: Service, slo: SLO, tier: str, grafana_url: str | None) -> dict[str, str]:
    """The SLO alert's annotations before the tier's own; the promtool tests predict exactly these."""
    summary = slo.alerting.summary or f"{service.name} is burning the {slo.name} SLO's error budget too fast"
    description = slo.alerting.description or (
        f"The {slo.name} SLO ({slo.objective:g}% over {slo.period}) is failing at an error ratio of "
        "{{ $value | humanizePercentage }} in the short window; at this pace the " + tier
        + " tier's share of the error budget is gone.")
    out = {"summary": summary, "description": description, "runbook_url": slo.alerting.runbook_url}
    if grafana_url is not None and has_dashboard(service):
        out[names.DASHBOARD_URL_ANNOTATION] = names.slo_dashboard_url(grafana_url, service.name)
    return out


def format_factor(value: Fraction) -> str:
    """For people: two decimals at most, trailing zeros dropped (14.4, 6, 0.93)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")
