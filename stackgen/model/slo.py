"""The SLO domain: burn-rate windows, factors and the PromQL every SLO output shares.

The Google SRE workbook's multi-window multi-burn-rate method alerts when the error budget is being
spent too fast: a tier fires when, over a long window, the service spent a given share of the whole
period's budget, confirmed by a short window (1/12 of the long one) so the alert resets quickly after
recovery. The factor a window's error ratio is compared against is

    factor = budget share x period / long window      (error ratio > factor x (1 - objective))

so the table below holds shares, not factors: a 30d period gives 14.4, 6, 3, 1 and a 28d period
13.44, 5.6, 2.8, 0.93, computed exactly with fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from stackgen.model import names
from stackgen.model.promql import selector
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO, AvailabilitySLI, BurnTier, LatencySLI
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

    @property
    def factor_literal(self) -> str:
        """The factor as written into PromQL: the shortest float that round-trips."""
        return _literal(self.factor)


@dataclass(frozen=True)
class Tier:
    """An enabled alerting tier of one SLO, with every default filled in."""

    tier: str
    alert: str
    severity: Severity
    for_: Duration
    conditions: tuple[Condition, ...]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def conditions(tier: str, period: Duration) -> tuple[Condition, ...]:
    out = []
    for name, long, short, share in BURN_RATE_WINDOWS:
        if name == tier:
            long_d, short_d, share_f = Duration.parse(long), Duration.parse(short), Fraction(share)
            out.append(Condition(long_d, short_d, share_f, share_f * Fraction(int(period), int(long_d))))
    return tuple(out)


def budget(slo: SLO) -> Fraction:
    """1 - objective, exactly: 99.5 gives 1/200, not 0.0050000000000000044."""
    return (100 - Fraction(repr(slo.objective))) / 100


def budget_literal(slo: SLO) -> str:
    return _literal(budget(slo))


def objective_literal(slo: SLO) -> str:
    return _literal(Fraction(repr(slo.objective)) / 100)


def _literal(value: Fraction) -> str:
    number = float(value)
    return str(int(number)) if number == int(number) else repr(number)


def threshold(condition: Condition, slo: SLO) -> float:
    """The error ratio a condition fires above, computed as Prometheus computes `(factor * budget)`."""
    return float(condition.factor_literal) * float(budget_literal(slo))


def period_days(slo: SLO) -> int:
    return int(slo.period) // 86_400_000


def tier_spec(slo: SLO, tier: str) -> BurnTier:
    return getattr(slo.alerting, tier)


def tiers(slo: SLO) -> list[Tier]:
    """The enabled tiers, page first."""
    out = []
    for tier in TIERS:
        spec = tier_spec(slo, tier)
        if spec.enabled:
            out.append(Tier(tier=tier, alert=spec.name or names.slo_alert_name(slo.name, tier),
                            severity=spec.severity or DEFAULT_SEVERITY[tier], for_=spec.for_,
                            conditions=conditions(tier, slo.period), labels=dict(spec.labels),
                            annotations=dict(spec.annotations)))
    return out


def windows(slo: SLO) -> list[Duration]:
    """Every window an SLI error ratio is recorded for (all tiers, enabled or not), then the period."""
    found = {w for tier in TIERS for c in conditions(tier, slo.period) for w in (c.long, c.short)}
    return [*sorted(found), slo.period]


def base_window() -> Duration:
    """The shortest window: the period ratio and the current burn rate are derived from it."""
    return min(Duration.parse(short) for _, _, short, _ in BURN_RATE_WINDOWS)


def id_labels(service: Service, slo: SLO) -> dict[str, str]:
    return {names.SLO_ID_LABEL: names.slo_id(service.name, slo.name), names.SLO_SERVICE_LABEL: service.name,
            names.SLO_NAME_LABEL: slo.name}


def id_filter(service: Service, slo: SLO) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(id_labels(service, slo).items())) + "}"


def sli_error_expr(service: Service, slo: SLO, window: Duration) -> str:
    """The error ratio of the SLI over one window, straight from the metric contract's series."""
    job = names.job_name(service.name)
    sli = slo.sli
    if isinstance(sli, AvailabilitySLI):
        bad = selector(sli.bad.metric, sli.bad.matchers, job)
        total = selector(sli.total.metric, sli.total.matchers, job)
        return f"sum(rate({bad}[{window}]))\n/\nsum(rate({total}[{window}]))"
    assert isinstance(sli, LatencySLI)
    le = f'le="{names.histogram_le(sli.threshold)}"'
    good = selector(f"{sli.histogram.metric}_bucket", [*sli.histogram.matchers, le], job)
    total = selector(f"{sli.histogram.metric}_count", sli.histogram.matchers, job)
    return f"1 - (\n  sum(rate({good}[{window}]))\n  /\n  sum(rate({total}[{window}]))\n)"


def alert_expr(service: Service, slo: SLO, tier: Tier) -> str:
    """Sloth's MWMB expression; `max without (sloth_window)` keeps one alert identity across branches."""
    flt, budget_text = id_filter(service, slo), budget_literal(slo)
    branches = []
    for c in tier.conditions:
        bound = f"({c.factor_literal} * {budget_text})"
        branches.append(f"  (\n    ({names.sli_error_record(str(c.short))}{flt} > {bound})\n"
                        f"    and ignoring ({names.SLO_WINDOW_LABEL})\n"
                        f"    ({names.sli_error_record(str(c.long))}{flt} > {bound})\n  )")
    joined = f"\n  or ignoring ({names.SLO_WINDOW_LABEL})\n".join(branches)
    return f"max without ({names.SLO_WINDOW_LABEL}) (\n{joined}\n)"


def alert_labels(service: Service, tier: Tier) -> dict[str, str]:
    """Routing keys exactly as ordinary alerts carry them, so the same route tree applies."""
    return {names.SEVERITY_LABEL: tier.severity, names.SERVICE_LABEL: service.name,
            names.TEAM_LABEL: service.team, names.SLO_SEVERITY_LABEL: tier.tier, **tier.labels}


def has_dashboard(service: Service) -> bool:
    """Whether the Grafana target renders the service's error-budget dashboard: it has SLOs and its
    dashboards are enabled (the SLO dashboard links back to the operations dashboard)."""
    return bool(service.slos) and service.dashboards.enabled


def alert_annotations(service: Service, slo: SLO, tier: Tier, grafana_url: str | None = None) -> dict[str, str]:
    """The SLO alert's annotations; the promtool tests predict exactly these. With `grafana_url` (the
    spec's grafana.url), `dashboard_url` points at the service's error-budget dashboard."""
    summary = slo.alerting.summary or f"{service.name} is burning the {slo.name} SLO's error budget too fast"
    description = slo.alerting.description or (
        f"The {slo.name} SLO ({slo.objective:g}% over {slo.period}) is failing at an error ratio of "
        "{{ $value | humanizePercentage }} in the short window; at this pace the " + tier.tier
        + " tier's share of the error budget is gone.")
    out = {"summary": summary, "description": description, "runbook_url": slo.alerting.runbook_url}
    if grafana_url is not None and has_dashboard(service):
        out[names.DASHBOARD_URL_ANNOTATION] = names.slo_dashboard_url(grafana_url, service.name)
    return {**out, **tier.annotations}


def result_labels(service: Service, slo: SLO) -> dict[str, str]:
    """Labels the alert expression's result carries (the recording rules' identity labels)."""
    return id_labels(service, slo)


def all_alert_names(service: Service) -> list[str]:
    return [t.alert for slo in service.slos for t in tiers(slo)]


def format_factor(value: Fraction) -> str:
    """For people: two decimals at most, trailing zeros dropped (14.4, 6, 0.93)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")
