"""SLO rule files: Sloth-compatible SLI and metadata recording rules, and MWMB burn-rate alerts.

One file per service with SLOs (prometheus/rules/<service>-slos.yml), one group per SLO. The SLI
windows are recorded first, the metadata next and the alerts last, so within one evaluation the
alerts read the ratios recorded at that same instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stackgen.model import names
from stackgen.model.slo import SLOGroup
from stackgen.spec.types import Duration


def slo_rules(groups: Sequence[SLOGroup], time_scale: int = 1) -> dict[str, Any]:
    """The rule groups of a service's resolved SLOs (`Stack.slos_of`). `time_scale` > 1 shrinks every
    range by that factor while keeping the record names (the drill profile: a 1h window becomes 2m,
    yet is still recorded as `..._rate1h`)."""
    return {"groups": [_group(group, time_scale) for group in groups]}


def _group(group: SLOGroup, time_scale: int) -> dict[str, Any]:
    out: dict[str, Any] = {"name": group.rule_group}
    if group.slo.evaluation_interval is not None:
        # Its own pace (e.g. 1m): the 30d ratios are not worth recomputing every global interval.
        out["interval"] = str(group.slo.evaluation_interval)
    out["rules"] = [*sli_records(group, time_scale), *meta_records(group), *alert_rules(group)]
    return out


def sli_records(group: SLOGroup, time_scale: int = 1) -> list[dict[str, Any]]:
    out = []
    base_span = Duration(int(group.base_window) // time_scale)
    own = group.labels or {}
    window_labels = {**group.id_labels, **own, names.SLO_WINDOW_LABEL: names.prom_duration(group.base_window)}
    for window, record in group.error_records.items():
        span = Duration(int(window) // time_scale)
        if window == group.slo.period:
            expr = period_expr(group, span)
        else:
            expr = group.error_expr(span)
        out.append({"record": record, "expr": expr,
                    "labels": {**group.id_labels, **own, names.SLO_WINDOW_LABEL: names.prom_duration(window)}})
        if window == group.base_window and group.slo.period_sli == "weighted":
            out += [{"record": events_record, "expr": events_expr, "labels": dict(window_labels)}
                    for events_record, events_expr in zip(group.events_records, group.events_exprs(base_span),
                                                          strict=True)]
    return out


def period_expr(group: SLOGroup, span: Duration) -> str:
    """The error ratio over the whole period, from the base window's records.

    `weighted`: all bad events over all events (sums of the recorded rates), so an hour of heavy
    traffic outweighs a quiet one. `average`: Sloth's mean of the 5m ratios. A window without traffic
    records no ratio and zero rates, so it adds nothing to either instead of a NaN that would stay in
    the period for its whole length; a period without any traffic has no ratio at all."""
    flt = group.id_filter
    if group.slo.period_sli == "weighted":
        bad, total = (f"{record}{flt}" for record in group.events_records)
        return f"sum_over_time({bad}[{span}])\n/\n(sum_over_time({total}[{span}]) > 0)"
    source = group.error_records[group.base_window] + flt
    return (f"sum_over_time({source}[{span}])\n/ ignoring ({names.SLO_WINDOW_LABEL})\n"
            f"count_over_time({source}[{span}])")


def meta_records(group: SLOGroup) -> list[dict[str, Any]]:
    ids, flt = dict(group.id_labels), group.id_filter
    on = ", ".join(sorted(ids))

    def burn_rate(window: Duration) -> str:
        return f"{group.error_records[window]}{flt}\n/ on({on}) group_left\n{names.SLO_ERROR_BUDGET_RECORD}{flt}"

    info = {**ids, names.SLO_OBJECTIVE_LABEL: group.objective_text, names.SLO_MODE_LABEL: names.SLO_MODE,
            names.SLO_SPEC_LABEL: "stackgen/v1", names.SLO_VERSION_LABEL: names.tool_version()}
    records = [
        (names.SLO_OBJECTIVE_RECORD, f"vector({group.objective_literal})", ids),
        (names.SLO_ERROR_BUDGET_RECORD, f"vector({group.budget_literal})", ids),
        (names.SLO_TIME_PERIOD_RECORD, f"vector({group.period_days})", ids),
        (names.SLO_CURRENT_BURN_RATE_RECORD, burn_rate(group.base_window), ids),
        (names.SLO_PERIOD_BURN_RATE_RECORD, burn_rate(group.slo.period), ids),
        (names.SLO_BUDGET_REMAINING_RECORD, f"1 - {names.SLO_PERIOD_BURN_RATE_RECORD}{flt}", ids),
        (names.SLO_INFO_RECORD, "vector(1)", info),
    ]
    return [{"record": record, "expr": expr, "labels": {**labels, **(group.labels or {})}} for record, expr, labels in records]


def alert_rules(group: SLOGroup) -> list[dict[str, Any]]:
    out = []
    for tier in group.tiers:
        rule: dict[str, Any] = {"alert": tier.alert, "expr": tier.expr, "labels": dict(tier.labels),
                                "annotations": dict(tier.annotations)}
        if tier.for_:
            rule["for"] = str(tier.for_)
        out.append(rule)
    for extra in group.extra_alerts:  # opt-in: budget exhausted, SLI absent
        rule = {"alert": extra.alert, "expr": extra.expr, "labels": dict(extra.labels),
                "annotations": dict(extra.annotations)}
        if extra.for_:
            rule["for"] = str(extra.for_)
        out.append(rule)
    return out
