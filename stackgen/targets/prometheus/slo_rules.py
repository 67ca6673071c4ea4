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
    return {"groups": [{"name": group.rule_group,
                        "rules": [*sli_records(group, time_scale), *meta_records(group), *alert_rules(group)]}
                       for group in groups]}


def sli_records(group: SLOGroup, time_scale: int = 1) -> list[dict[str, Any]]:
    out = []
    for window, record in group.error_records.items():
        span = Duration(int(window) // time_scale)
        if window == group.slo.period:
            # As Sloth does: average the shortest window's ratio over the period rather than a 30d rate().
            source = group.error_records[group.base_window] + group.id_filter
            expr = (f"sum_over_time({source}[{span}])\n/ ignoring ({names.SLO_WINDOW_LABEL})\n"
                    f"count_over_time({source}[{span}])")
        else:
            expr = group.error_expr(span)
        out.append({"record": record, "expr": expr, "labels": {**group.id_labels, names.SLO_WINDOW_LABEL: str(window)}})
    return out


def meta_records(group: SLOGroup) -> list[dict[str, Any]]:
    ids, flt = dict(group.id_labels), group.id_filter
    on = ", ".join(sorted(ids))

    def burn_rate(window: Duration) -> str:
        return f"{group.error_records[window]}{flt}\n/ on({on}) group_left\n{names.SLO_ERROR_BUDGET_RECORD}{flt}"

    info = {**ids, names.SLO_OBJECTIVE_LABEL: f"{group.slo.objective:g}", names.SLO_MODE_LABEL: names.SLO_MODE,
            names.SLO_SPEC_LABEL: "stackgen/v1"}
    records = [
        (names.SLO_OBJECTIVE_RECORD, f"vector({group.objective_literal})", ids),
        (names.SLO_ERROR_BUDGET_RECORD, f"vector({group.budget_literal})", ids),
        (names.SLO_TIME_PERIOD_RECORD, f"vector({group.period_days})", ids),
        (names.SLO_CURRENT_BURN_RATE_RECORD, burn_rate(group.base_window), ids),
        (names.SLO_PERIOD_BURN_RATE_RECORD, burn_rate(group.slo.period), ids),
        (names.SLO_BUDGET_REMAINING_RECORD, f"1 - {names.SLO_PERIOD_BURN_RATE_RECORD}{flt}", ids),
        (names.SLO_INFO_RECORD, "vector(1)", info),
    ]
    return [{"record": record, "expr": expr, "labels": labels} for record, expr, labels in records]


def alert_rules(group: SLOGroup) -> list[dict[str, Any]]:
    out = []
    for tier in group.tiers:
        rule: dict[str, Any] = {"alert": tier.alert, "expr": tier.expr, "labels": dict(tier.labels),
                                "annotations": dict(tier.annotations)}
        if tier.for_:
            rule["for"] = str(tier.for_)
        out.append(rule)
    return out
