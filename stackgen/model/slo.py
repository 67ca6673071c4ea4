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

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from stackgen.model import names
from stackgen.model.promql import selector
from stackgen.spec.service import Service
from stackgen.spec.slo import (
    DAY_MS,
    SLO,
    SLOTH_PERIODS_DAYS,
    AvailabilitySLI,
    BoolGaugeSLI,
    BurnWindow,
    LatencySLI,
    RawSLI,
    instantiate,
)
from stackgen.spec.types import Duration, Matcher, Severity

TIERS = ("page", "ticket")
MINUTE_MS = 60_000
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
class ExtraAlert:
    """An opt-in SLO alert beside the tiers: `budget_exhausted` (the period's remaining budget <= 0)
    or `absent` (the SLI's total-events series is gone)."""

    kind: str
    alert: str
    severity: Severity
    for_: Duration
    expr: str
    labels: dict[str, str]  # the rule's labels (routing keys, ids, the SLO's and the alert's own)
    annotations: dict[str, str]
    # The labels the expression's result itself carries (absent(): its selector's equality matchers).
    result_labels: dict[str, str]


@dataclass(frozen=True)
class SLOGroup:
    """One SLO of one service as its rule group sees it (Sloth's MWMBAlertGroup, plus the names)."""

    service: Service
    slo: SLO
    rule_group: str
    objective_literal: str
    objective_text: str  # the objective in percent with every digit written (99.123456, 99)
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
    # The bad- and total-event rates of the base window, recorded for the traffic-weighted period SLI.
    events_records: tuple[str, str]
    by: tuple[str, ...] = ()  # one budget per value of these labels
    labels: dict[str, str] | None = None  # the SLO's own labels, on every record and alert
    extra_alerts: tuple[ExtraAlert, ...] = ()  # enabled budget_exhausted, then absent
    # The range function each of `events` is read with: rate for counters, sum_over_time and
    # count_over_time for a bool gauge (good samples, all samples).
    event_functions: tuple[str, str] = ("rate", "rate")
    # A raw SLI: `events` are the user's error and total queries, `{{.window}}` still in them.
    raw: bool = False
    # The service whose metric contract declares the SLI's metrics (the SLI's `job`, or this one).
    source: Service | None = None
    job: str = ""  # the job label of the SLI's series

    @property
    def contract(self) -> Service:
        return self.source or self.service

    @property
    def result_labels(self) -> tuple[str, ...]:
        """Every label an SLO alert's expression result carries: the ids and the `by` labels."""
        return (*self.id_labels, *self.by)

    @property
    def windows(self) -> tuple[Duration, ...]:
        return tuple(self.error_records)

    @property
    def period_window(self) -> str:
        """The period as Sloth writes it in record names and `sloth_window` (28d is `4w`)."""
        return names.prom_duration(self.slo.period)

    def _rates(self, window: Duration) -> tuple[str, str]:
        if self.raw:
            numerator, denominator = (instantiate(query, str(window)) for query in self.events)
            # Parenthesised: the user's query may end in `or on() vector(0)` or a binary operator.
            return f"({numerator})", f"({denominator})"
        by = f" by ({', '.join(self.by)})" if self.by else ""
        return tuple(f"sum{by}({fn}({sel}[{window}]))"  # type: ignore[return-value]
                     for fn, sel in zip(self.event_functions, self.events, strict=True))

    def error_expr(self, window: Duration) -> str:
        """The error ratio of the SLI over one window, straight from the metric contract's series.

        A window without traffic gives no sample rather than 0/0 = NaN (a NaN would poison every
        average over it), and a service that has never failed, so has no bad series yet, gives 0 as
        long as there is traffic rather than nothing."""
        numerator, denominator = self._rates(window)
        if self.counts_good:
            return f"1 - (\n  {numerator}\n  /\n  ({denominator} > 0)\n)"
        return f"(\n  {numerator}\n  or\n  0 * {denominator}\n)\n/\n({denominator} > 0)"

    def events_exprs(self, window: Duration) -> tuple[str, str]:
        """The bad- and total-event rates over one window (bad events counted as 0 before the first)."""
        numerator, denominator = self._rates(window)
        if self.counts_good:
            return f"{denominator}\n-\n{numerator}", denominator
        return f"{numerator}\nor\n0 * {denominator}", denominator


def window_table(period: Duration) -> tuple[tuple[str, Duration, Duration, Fraction], ...]:
    """(tier, long, short, budget share) for a period. 28d and 30d keep the workbook's (and Sloth's)
    windows; any other period gets them scaled by period / 30d, to whole minutes (1m at least), with
    the same budget shares, so the factors stay about 14.4, 6, 3 and 1 (as Pyrra scales its windows)."""
    sloth = period in (Duration(d * DAY_MS) for d in SLOTH_PERIODS_DAYS)
    scale = Fraction(int(period), 30 * DAY_MS)
    out = []
    for tier, long, short, share in BURN_RATE_WINDOWS:
        long_d, short_d = Duration.parse(long), Duration.parse(short)
        if not sloth:
            long_d, short_d = (Duration(max(MINUTE_MS, round(w * scale / MINUTE_MS) * MINUTE_MS)) for w in (long_d, short_d))
        out.append((tier, long_d, short_d, Fraction(share)))
    return tuple(out)


def conditions(tier: str, period: Duration, budget: Fraction,
               windows: Sequence[BurnWindow] | None = None) -> tuple[Condition, ...]:
    """A tier's conditions: the period's default table, or the tier's own `windows`."""
    budget_value = float(_literal(budget))
    if windows:
        table = [(tier, w.long, w.short, Fraction(repr(w.budget_percent)) / 100) for w in windows]
    else:
        table = [row for row in window_table(period) if row[0] == tier]
    out = []
    for _, long_d, short_d, share_f in table:
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


def sli_source(service: Service, slo: SLO, services: Sequence[Service] = ()) -> Service:
    """The service whose contract declares the SLI's metrics: the service its `job` names, when the spec
    has one, else the SLO's own (whose contract then declares e.g. the load balancer's metrics)."""
    job = getattr(slo.sli, "job", None)
    return next((s for s in services if job is not None and names.job_name(s.name) == job), service)


def slo_group(service: Service, slo: SLO, grafana_url: str | None = None,
              services: Sequence[Service] = ()) -> SLOGroup:
    """Every derived fact of one SLO. With `grafana_url` (the spec's grafana.url), the alerts'
    `dashboard_url` points at the service's error-budget dashboard; `services` are the spec's, where
    an SLI's `job` may point."""
    slo_budget = budget(slo)
    by_tier = {tier: conditions(tier, slo.period, slo_budget, getattr(slo.alerting, tier).windows) for tier in TIERS}
    windows = sorted({w for found in by_tier.values() for c in found for w in (c.long, c.short)})
    ids = {names.SLO_ID_LABEL: names.slo_id(service.name, slo.name), names.SLO_SERVICE_LABEL: service.name,
           names.SLO_NAME_LABEL: slo.name}
    flt = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(ids.items())) + "}"
    budget_text = _literal(slo_budget)
    base = min(c.short for found in by_tier.values() for c in found)
    tiers = []
    for tier in TIERS:
        spec = getattr(slo.alerting, tier)
        if not spec.enabled:
            continue
        severity = spec.severity or DEFAULT_SEVERITY[tier]
        tiers.append(Tier(
            tier=tier, alert=spec.name or slo.alerting.name or names.slo_alert_name(slo.name, tier), severity=severity,
            for_=spec.for_,
            conditions=by_tier[tier], expr=_alert_expr(flt, budget_text, by_tier[tier]),
            labels={names.SEVERITY_LABEL: severity, names.SERVICE_LABEL: service.name, names.TEAM_LABEL: service.team,
                    names.SLO_SEVERITY_LABEL: tier, **slo.labels, **spec.labels},
            annotations=_annotations(service, slo, tier, grafana_url) | spec.annotations))
    source = sli_source(service, slo, services)
    job = getattr(slo.sli, "job", None) or names.job_name(service.name)
    events = _events(source, slo, job)
    return SLOGroup(
        service=service, slo=slo, rule_group=names.slo_group(service.name, slo.name),
        objective_literal=_literal(Fraction(repr(slo.objective)) / 100), objective_text=percent(slo.objective),
        budget=slo_budget,
        budget_literal=budget_text, period_days=int(slo.period) // 86_400_000, tiers=tuple(tiers),
        error_records={w: names.sli_error_record(w) for w in [*windows, slo.period]},
        base_window=base, id_labels=ids, id_filter=flt, events=events,
        counts_good=isinstance(slo.sli, LatencySLI | BoolGaugeSLI), events_records=names.sli_events_records(base),
        by=tuple(slo.by), labels=dict(slo.labels),
        extra_alerts=_extra_alerts(service, slo, ids, flt, events[1], grafana_url, job),
        event_functions=("sum_over_time", "count_over_time") if isinstance(slo.sli, BoolGaugeSLI) else ("rate", "rate"),
        raw=isinstance(slo.sli, RawSLI), source=source if source is not service else None, job=job)


def _extra_alerts(service: Service, slo: SLO, ids: dict[str, str], flt: str, total: str,
                  grafana_url: str | None, job: str) -> tuple[ExtraAlert, ...]:
    out = []
    routing = {names.SERVICE_LABEL: service.name, names.TEAM_LABEL: service.team}
    exhausted = slo.alerting.budget_exhausted
    if exhausted.enabled:
        # The remaining budget keeps the period ratio's sloth_window; one alert per SLO (and `by` value) needs none.
        expr = f"max without ({names.SLO_WINDOW_LABEL}) ({names.SLO_BUDGET_REMAINING_RECORD}{flt} <= 0)"
        summary = exhausted.summary or f"{service.name} has spent the {slo.name} SLO's error budget"
        description = exhausted.description or (
            f"The {slo.name} SLO ({percent(slo.objective)}% over {slo.period}) has no error budget left: "
            "{{ $value | humanizePercentage }} remains.")
        out.append(ExtraAlert(
            kind="budget_exhausted", alert=exhausted.name or names.slo_extra_alert_name(slo.name, "budget_exhausted"),
            severity=exhausted.severity, for_=exhausted.for_ if exhausted.for_ is not None else Duration(0),
            expr=expr, labels={names.SEVERITY_LABEL: exhausted.severity, **routing, **slo.labels, **exhausted.labels},
            annotations=_extra_annotations(service, slo, summary, description, grafana_url) | exhausted.annotations,
            result_labels={}))
    absent = slo.alerting.absent
    if absent.enabled:
        # absent() keeps only its selector's equality matchers, so the ids and the SLO's labels go on the rule.
        summary = absent.summary or f"{service.name} exports no events for the {slo.name} SLO"
        description = absent.description or (
            f"Job {{{{ $labels.job }}}} exports no series matching {total}: the {slo.name} SLO's error ratios and "
            "burn-rate alerts have nothing to read.")
        out.append(ExtraAlert(
            kind="absent", alert=absent.name or names.slo_extra_alert_name(slo.name, "absent"),
            severity=absent.severity, for_=absent.for_ if absent.for_ is not None else Duration(600_000),
            expr=f"absent({total})",
            labels={names.SEVERITY_LABEL: absent.severity, **routing, **ids, **slo.labels, **absent.labels},
            annotations=_extra_annotations(service, slo, summary, description, grafana_url) | absent.annotations,
            result_labels=absent_labels(job, _total_matchers(slo))))
    return tuple(out)


def absent_labels(job: str, matchers: Sequence[Matcher]) -> dict[str, str]:
    """The labels `absent(selector)` gives: `job` and the selector's equality matchers (Prometheus
    drops a label matched more than once)."""
    equal = [("job", job), *((m.label, m.unquoted) for m in matchers if m.op == "=")]
    counts = Counter(label for label, _ in [("job", job), *((m.label, "") for m in matchers)])
    return {label: value for label, value in equal if counts[label] == 1 and value}


def _extra_annotations(service: Service, slo: SLO, summary: str, description: str,
                       grafana_url: str | None) -> dict[str, str]:
    out = {"summary": summary, "description": description, "runbook_url": slo.alerting.runbook_url}
    if grafana_url is not None and has_dashboard(service):
        out[names.DASHBOARD_URL_ANNOTATION] = names.slo_dashboard_url(grafana_url, service.name)
    return out


def _events(service: Service, slo: SLO, job: str) -> tuple[str, str]:
    """The SLI's two event sources: selectors of `service`'s contract on `job`, or a raw SLI's queries."""
    sli = slo.sli
    if isinstance(sli, RawSLI):
        return sli.error_query, sli.total_query
    if isinstance(sli, BoolGaugeSLI):
        gauge = selector(sli.gauge.metric, sli.gauge.matchers, job)
        return gauge, gauge
    if isinstance(sli, AvailabilitySLI):
        return (selector(total_series(service, sli.bad.metric), sli.bad.matchers, job),
                selector(total_series(service, sli.total.metric), sli.total.matchers, job))
    le = f'le="{names.histogram_le(sli.threshold)}"'
    return (selector(f"{sli.histogram.metric}_bucket", [*sli.histogram.matchers, le], job),
            selector(f"{sli.histogram.metric}_count", sli.histogram.matchers, job))


def _total_matchers(slo: SLO) -> Sequence[Matcher]:
    sli = slo.sli
    if isinstance(sli, AvailabilitySLI):
        return sli.total.matchers
    if isinstance(sli, BoolGaugeSLI):
        return sli.gauge.matchers
    return sli.histogram.matchers if isinstance(sli, LatencySLI) else []


def total_series(service: Service, metric_name: str) -> str:
    """The series an availability SLI's events are counted on: the counter, or a histogram's `_count`."""
    metric = service.metric(metric_name)
    return f"{metric_name}_count" if metric is not None and metric.type == "histogram" else metric_name


def _alert_expr(flt: str, budget_text: str, tier_conditions: tuple[Condition, ...]) -> str:
    """Sloth's MWMB expression; `max without (sloth_window)` keeps one alert identity across branches."""
    branches = []
    for c in tier_conditions:
        bound = f"({c.factor_literal} * {budget_text})"
        branches.append(f"  (\n    ({names.sli_error_record(c.short)}{flt} > {bound})\n"
                        f"    and ignoring ({names.SLO_WINDOW_LABEL})\n"
                        f"    ({names.sli_error_record(c.long)}{flt} > {bound})\n  )")
    joined = f"\n  or ignoring ({names.SLO_WINDOW_LABEL})\n".join(branches)
    return f"max without ({names.SLO_WINDOW_LABEL}) (\n{joined}\n)"


def _annotations(service: Service, slo: SLO, tier: str, grafana_url: str | None) -> dict[str, str]:
    """The SLO alert's annotations before the tier's own; the promtool tests predict exactly these."""
    summary = slo.alerting.summary or f"{service.name} is burning the {slo.name} SLO's error budget too fast"
    description = slo.alerting.description or (
        f"The {slo.name} SLO ({percent(slo.objective)}% over {slo.period}) is failing at an error ratio of "
        "{{ $value | humanizePercentage }} in the short window; at this pace the " + tier
        + " tier's share of the error budget is gone.")
    out = {"summary": summary, "description": description, "runbook_url": slo.alerting.runbook_url}
    if grafana_url is not None and has_dashboard(service):
        out[names.DASHBOARD_URL_ANNOTATION] = names.slo_dashboard_url(grafana_url, service.name)
    return out


def percent(objective: float) -> str:
    """An objective exactly as written (99.123456 stays 99.123456, 99.0 is 99), never in exponent form."""
    text = format(Decimal(repr(objective)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_factor(value: Fraction) -> str:
    """For people: two decimals at most, trailing zeros dropped (14.4, 6, 0.93)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")
