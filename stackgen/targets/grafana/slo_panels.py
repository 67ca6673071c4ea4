"""The error-budget dashboard of a service: its panels, typed, one list per SLO.

Pure and grafanalib-free so the Grafana builder owns the rendering. Every expression reads only the
SLO recording rules (Sloth names), so the panels work unchanged on a Prometheus that evaluates our rule
files, and the PromQL analysis (parsers.promql_analysis) can parse them. Panels come out unplaced:
slo_dashboard numbers them and lays them on the grid.
"""

from __future__ import annotations

from dataclasses import replace

from stackgen.model import names
from stackgen.model.slo import SLOGroup
from stackgen.resolve import Stack
from stackgen.spec.grafana import Unit
from stackgen.spec.service import Service
from stackgen.spec.types import Duration
from stackgen.targets.grafana.dashboards import PanelDisplay, PanelModel, Query

UNPLACED = (0, 0, 0, 0)
# A remaining budget below 0 means the SLO is breached: the gauge's scale stays 0..100%.
_GAUGE_RANGE = (0.0, 1.0)


def slo_dashboard_panels(stack: Stack, service: Service | str) -> list[list[PanelModel]]:
    """The panels of every SLO of `service` (an object or a name), one list per SLO in spec order."""
    if isinstance(service, str):
        found = next((s for s in stack.spec.services if s.name == service), None)
        if found is None:
            raise KeyError(f"no service {service!r} in the spec")
        service = found
    return [slo_panels(group) for group in stack.slos_of(service)]


def by_variable(label: str) -> str:
    """The dashboard variable of a `by` label (its own name, unless that is the datasource variable's)."""
    return label if label != names.DATASOURCE_VARIABLE else f"{label}_value"


def slo_panels(group: SLOGroup) -> list[PanelModel]:
    slo, flt = group.slo, group.id_filter
    if group.by:
        # One budget per label value: the dashboard's variable for each label picks the values shown.
        flt = flt[:-1] + "".join(f',{label}=~"${by_variable(label)}"' for label in group.by) + "}"
    period = str(slo.period)
    title = f"{slo.name} ({group.objective_text}% / {period})"
    on = ", ".join(sorted(group.id_labels))

    def sli(window: Duration) -> str:
        return f"{group.error_records[window]}{flt}"

    def burn(window: Duration) -> str:
        return f"{sli(window)}\n/ on({on}) group_left\n{names.SLO_ERROR_BUDGET_RECORD}{flt}"

    panels = [
        _panel(f"{title}: SLI over the period", "stat", "percentunit", [(f"1 - {sli(slo.period)}", "SLI")],
               f"Share of good events over the last {period}; the objective is {group.objective_text}%.",
               thresholds=((0.0, "red"), (float(group.objective_literal), "green"))),
        _panel(f"{title}: error budget remaining", "gauge", "percentunit",
               [(f"{names.SLO_BUDGET_REMAINING_RECORD}{flt}", "remaining")],
               f"1 - (errors over {period} / budget). Negative: the SLO is breached.",
               thresholds=((0.0, "red"), (0.25, "orange"), (0.5, "green"))),
        _panel(f"{title}: SLI over time", "timeseries", "percentunit",
               [(f"1 - {sli(group.base_window)}", "SLI (5m)"), (f"{names.SLO_OBJECTIVE_RECORD}{flt}", "objective")],
               "Good-event ratio against the objective."),
        _panel(f"{title}: burn rate per window", "timeseries", "none", [(burn(w), str(w)) for w in group.windows],
               "Error ratio divided by the error budget: 1 spends the budget exactly over the period."),
    ]
    for tier in group.tiers:
        exprs = [(f"{burn(window)}\n/ {c.factor_literal}", f"{window} burn / {c.factor_text}")
                 for c in tier.conditions for window in (c.long, c.short)]
        panels.append(_panel(
            f"{title}: {tier.tier} tier ({tier.alert})", "timeseries", "none", exprs,
            f"Each window's burn rate as a fraction of its factor: {tier.alert} ({tier.severity}) fires when "
            "both windows of a pair are above 1.", thresholds=((0.0, "green"), (1.0, "red"))))
    if group.by:
        # One budget per label value: every series is told apart by its `by` labels in the legend.
        values = " ".join("{{" + label + "}}" for label in group.by)
        panels = [replace(p, queries=tuple(replace(q, legend=f"{q.legend} {values}") for q in p.queries))
                  for p in panels]
    return panels


def _panel(title: str, display: PanelDisplay, unit: Unit, exprs: list[tuple[str, str]], description: str,
           thresholds: tuple[tuple[float, str], ...] = ()) -> PanelModel:
    gauge = display == "gauge"
    return PanelModel(
        id=0, title=title, description=description, display=display, unit=unit, grid=UNPLACED,
        queries=tuple(Query(chr(ord("A") + n), expr, legend) for n, (expr, legend) in enumerate(exprs)),
        datasource="prometheus", thresholds=thresholds,
        min=_GAUGE_RANGE[0] if gauge else None, max=_GAUGE_RANGE[1] if gauge else None)
