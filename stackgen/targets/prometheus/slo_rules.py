"""SLO rule files: Sloth-compatible SLI and metadata recording rules, and MWMB burn-rate alerts.

One file per service with SLOs (prometheus/rules/<service>-slos.yml), one group per SLO. The SLI
windows are recorded first, the metadata next and the alerts last, so within one evaluation the
alerts read the ratios recorded at that same instant.
"""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.model import slo as model
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO
from stackgen.spec.types import Duration


def slo_rules(service: Service, time_scale: int = 1, grafana_url: str | None = None) -> dict[str, Any]:
    """The SLO rule groups. `time_scale` > 1 shrinks every range by that factor while keeping the
    record names (the drill profile: a 1h window becomes 2m, yet is still recorded as `..._rate1h`).
    `grafana_url` (spec.grafana.url) adds the alerts' `dashboard_url` annotation."""
    return {"groups": [{"name": names.slo_group(service.name, slo.name),
                        "rules": [*sli_records(service, slo, time_scale), *meta_records(service, slo),
                                  *alert_rules(service, slo, grafana_url)]}
                       for slo in service.slos]}


def sli_records(service: Service, slo: SLO, time_scale: int = 1) -> list[dict[str, Any]]:
    ids = model.id_labels(service, slo)
    base = model.base_window()
    out = []
    for window in model.windows(slo):
        span = Duration(int(window) // time_scale)
        if window == slo.period:
            # As Sloth does: average the shortest window's ratio over the period rather than a 30d rate().
            source = names.sli_error_record(str(base)) + model.id_filter(service, slo)
            expr = (f"sum_over_time({source}[{span}])\n/ ignoring ({names.SLO_WINDOW_LABEL})\n"
                    f"count_over_time({source}[{span}])")
        else:
            expr = model.sli_error_expr(service, slo, span)
        out.append({"record": names.sli_error_record(str(window)), "expr": expr,
                    "labels": {**ids, names.SLO_WINDOW_LABEL: str(window)}})
    return out


def meta_records(service: Service, slo: SLO) -> list[dict[str, Any]]:
    ids, flt = model.id_labels(service, slo), model.id_filter(service, slo)
    on = ", ".join(sorted(ids))

    def burn_rate(window: str) -> str:
        return (f"{names.sli_error_record(window)}{flt}\n/ on({on}) group_left\n"
                f"{names.SLO_ERROR_BUDGET_RECORD}{flt}")

    info = {**ids, names.SLO_OBJECTIVE_LABEL: f"{slo.objective:g}", names.SLO_MODE_LABEL: names.SLO_MODE,
            names.SLO_SPEC_LABEL: "stackgen/v1"}
    records = [
        (names.SLO_OBJECTIVE_RECORD, f"vector({model.objective_literal(slo)})", ids),
        (names.SLO_ERROR_BUDGET_RECORD, f"vector({model.budget_literal(slo)})", ids),
        (names.SLO_TIME_PERIOD_RECORD, f"vector({model.period_days(slo)})", ids),
        (names.SLO_CURRENT_BURN_RATE_RECORD, burn_rate(str(model.base_window())), ids),
        (names.SLO_PERIOD_BURN_RATE_RECORD, burn_rate(str(slo.period)), ids),
        (names.SLO_BUDGET_REMAINING_RECORD, f"1 - {names.SLO_PERIOD_BURN_RATE_RECORD}{flt}", ids),
        (names.SLO_INFO_RECORD, "vector(1)", info),
    ]
    return [{"record": record, "expr": expr, "labels": labels} for record, expr, labels in records]


def alert_rules(service: Service, slo: SLO, grafana_url: str | None = None) -> list[dict[str, Any]]:
    out = []
    for tier in model.tiers(slo):
        rule: dict[str, Any] = {
            "alert": tier.alert,
            "expr": model.alert_expr(service, slo, tier),
            "labels": model.alert_labels(service, tier),
            "annotations": model.alert_annotations(service, slo, tier, grafana_url),
        }
        if tier.for_:
            rule["for"] = str(tier.for_)
        out.append(rule)
    return out
