"""The error-budget dashboard of a service, as data: panels the Grafana target turns into JSON.

Pure and grafanalib-free so the Grafana target (built separately) owns the rendering. Every
expression reads only the SLO recording rules (Sloth names), so the panels work unchanged on a
Prometheus that evaluates our rule files, and the PromQL analysis (parsers.promql_analysis) can parse them.

Each panel: {"title", "kind" ("timeseries" | "stat" | "gauge"), "unit" (Grafana unit id),
"exprs": [{"expr", "legend"}], "slo", "description"} and, where meaningful, "thresholds":
[{"value", "color"}] in the panel's unit.
"""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.model import slo as model
from stackgen.resolve import Stack
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO


def slo_dashboard_panels(stack: Stack, service: Service | str) -> list[dict[str, Any]]:
    """Panels for every SLO of `service` (an object or a name), in spec order; [] without SLOs."""
    if isinstance(service, str):
        found = next((s for s in stack.spec.services if s.name == service), None)
        if found is None:
            raise KeyError(f"no service {service!r} in the spec")
        service = found
    return [panel for slo in service.slos for panel in _panels(service, slo)]


def _panels(service: Service, slo: SLO) -> list[dict[str, Any]]:
    flt = model.id_filter(service, slo)
    period = str(slo.period)
    tiers = model.tiers(slo)
    title = f"{slo.name} ({slo.objective:g}% / {period})"

    def sli(window: str) -> str:
        return f"{names.sli_error_record(window)}{flt}"

    panels: list[dict[str, Any]] = [
        _panel(f"{title}: SLI over the period", "stat", "percentunit", slo,
               [(f"1 - {sli(period)}", "SLI")],
               f"Share of good events over the last {period}; the objective is {slo.objective:g}%.",
               thresholds=[(0.0, "red"), (float(model.objective_literal(slo)), "green")]),
        _panel(f"{title}: error budget remaining", "gauge", "percentunit", slo,
               [(f"{names.SLO_BUDGET_REMAINING_RECORD}{flt}", "remaining")],
               f"1 - (errors over {period} / budget). Negative: the SLO is breached.",
               thresholds=[(0.0, "red"), (0.25, "orange"), (0.5, "green")]),
        _panel(f"{title}: SLI over time", "timeseries", "percentunit", slo,
               [(f"1 - {sli(str(model.base_window()))}", "SLI (5m)"),
                (f"{names.SLO_OBJECTIVE_RECORD}{flt}", "objective")],
               "Good-event ratio against the objective."),
        _panel(f"{title}: burn rate per window", "timeseries", "none", slo,
               [(f"{sli(str(w))}\n/ on({_on(service, slo)}) group_left\n{names.SLO_ERROR_BUDGET_RECORD}{flt}",
                 str(w)) for w in model.windows(slo)],
               "Error ratio divided by the error budget: 1 spends the budget exactly over the period."),
    ]
    for tier in tiers:
        exprs = []
        for c in tier.conditions:
            factor = c.factor_literal
            for window in (c.long, c.short):
                exprs.append((f"{sli(str(window))}\n/ on({_on(service, slo)}) group_left\n"
                              f"{names.SLO_ERROR_BUDGET_RECORD}{flt}\n/ {factor}",
                              f"{window} burn / {model.format_factor(c.factor)}"))
        panels.append(_panel(
            f"{title}: {tier.tier} tier ({tier.alert})", "timeseries", "none", slo, exprs,
            f"Each window's burn rate as a fraction of its factor: {tier.alert} ({tier.severity}) fires when "
            "both windows of a pair are above 1.", thresholds=[(0.0, "green"), (1.0, "red")]))
    return panels


def _on(service: Service, slo: SLO) -> str:
    return ", ".join(sorted(model.id_labels(service, slo)))


def _panel(title: str, kind: str, unit: str, slo: SLO, exprs: list[tuple[str, str]], description: str,
           thresholds: list[tuple[float, str]] | None = None) -> dict[str, Any]:
    panel: dict[str, Any] = {"title": title, "kind": kind, "unit": unit, "slo": slo.name,
                             "description": description,
                             "exprs": [{"expr": expr, "legend": legend} for expr, legend in exprs]}
    if thresholds is not None:
        panel["thresholds"] = [{"value": value, "color": color} for value, color in thresholds]
    return panel
