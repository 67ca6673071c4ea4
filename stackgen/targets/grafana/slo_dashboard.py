"""The error-budget dashboard of a service with SLOs: slo_panels' panels as a DashboardModel.

slo_panels owns what is shown (PromQL over the Sloth recording rules, units, thresholds); this module
only gives the panels ids (from their titles) and grid positions and links the dashboard to the operations dashboard, so
the grafanalib builder renders it like any other dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from stackgen.model import names
from stackgen.resolve import Stack
from stackgen.spec.service import Service
from stackgen.spec.types import Duration
from stackgen.targets.grafana.dashboards import (
    GRID_COLUMNS,
    OPERATIONS_LINK_TITLE,
    DashboardModel,
    LabelVariable,
    PanelModel,
    numbered,
)
from stackgen.targets.grafana.slo_panels import by_variable, slo_dashboard_panels

PANEL_HEIGHT = 8
SUMMARY_WIDTH = 6  # a stat or gauge panel
_SUMMARY_DISPLAYS = ("stat", "gauge")
# Long enough to show the slowest burn-rate window (3d) twice over.
TIME_RANGE = Duration.parse("7d")


def slo_grid(per_slo: Sequence[Sequence[PanelModel]]) -> list[tuple[int, int, int, int]]:
    """Two rows per SLO: its stat/gauge panels then its first time series (the rest of the row), and
    below them its other time series sharing the full width. Each SLO starts a new row. One position
    per panel, in order."""
    y = 0
    out: list[tuple[int, int, int, int]] = []
    for panels in per_slo:
        summary = [i for i, p in enumerate(panels) if p.display in _SUMMARY_DISPLAYS]
        series = [i for i, p in enumerate(panels) if p.display not in _SUMMARY_DISPLAYS]
        grid: dict[int, tuple[int, int, int, int]] = {}
        first_row = summary + series[:1]
        x = 0
        for n, i in enumerate(first_row):
            last = n == len(first_row) - 1
            w = GRID_COLUMNS - x if last else SUMMARY_WIDTH
            grid[i] = (x, y, w, PANEL_HEIGHT)
            x += w
        y += PANEL_HEIGHT
        rest = series[1:]
        if rest:
            width = GRID_COLUMNS // len(rest)
            for n, i in enumerate(rest):
                w = GRID_COLUMNS - n * width if n == len(rest) - 1 else width
                grid[i] = (n * width, y, w, PANEL_HEIGHT)
            y += PANEL_HEIGHT
        out += [grid[i] for i in range(len(panels))]
    return out


def slo_dashboard(stack: Stack, service: Service) -> DashboardModel:
    per_slo = slo_dashboard_panels(stack, service)
    panels = [panel for panels in per_slo for panel in panels]
    uid = names.slo_dashboard_uid(service.name)
    placed = numbered(uid, [replace(panel, grid=grid) for panel, grid in zip(panels, slo_grid(per_slo), strict=True)])
    # Stack.has_slo_dashboard implies the operations dashboard exists, so the way back is always there.
    back = ((OPERATIONS_LINK_TITLE, names.dashboard_path(names.dashboard_uid(service.name))),)
    return DashboardModel(
        uid=uid,
        title=names.slo_dashboard_title(service.name),
        job=names.job_name(service.name),
        tags=tuple(dict.fromkeys(["stackgen", "slo", service.name, service.team])),
        refresh=str(service.dashboards.refresh),
        time_from=f"now-{TIME_RANGE}",
        panels=placed,
        links=tuple(dict.fromkeys((f"Runbook: {slo.name}", slo.alerting.runbook_url) for slo in service.slos)),
        dashboard_links=back,
        instance_variable=False,
        label_variables=_by_variables(stack, service),
    )


def _by_variables(stack: Stack, service: Service) -> tuple[LabelVariable, ...]:
    """One variable per `by` label of the service's SLOs (shared by SLOs broken down by the same label)."""
    series = f'{names.SLO_BUDGET_REMAINING_RECORD}{{{names.SLO_SERVICE_LABEL}="{service.name}"}}'
    labels = dict.fromkeys(label for group in stack.slos_of(service) for label in group.by)
    return tuple(LabelVariable(by_variable(label), label, series) for label in labels)
