"""The error-budget dashboard of a service with SLOs: slo_panels' panels as a DashboardModel.

slo_panels owns what is shown (PromQL over the Sloth recording rules, units, thresholds); this module
only gives the panels ids and grid positions and links the dashboard to the operations dashboard, so
the grafanalib builder renders it like any other dashboard.
"""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.resolve import Stack
from stackgen.spec.service import Service
from stackgen.spec.types import Duration
from stackgen.targets.grafana.dashboards import (
    GRID_COLUMNS,
    OPERATIONS_LINK_TITLE,
    DashboardModel,
    PanelModel,
    Query,
)
from stackgen.targets.grafana.slo_panels import slo_dashboard_panels

PANEL_HEIGHT = 8
SUMMARY_WIDTH = 6  # a stat or gauge panel
_SUMMARY_KINDS = ("stat", "gauge")
# A remaining budget below 0 means the SLO is breached: the gauge's scale stays 0..100%.
_GAUGE_RANGE = (0.0, 1.0)
# Long enough to show the slowest burn-rate window (3d) twice over.
TIME_RANGE = Duration.parse("7d")


def slo_grid(panels: list[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    """Two rows per SLO: its stat/gauge panels then its first time series (the rest of the row), and
    below them its other time series sharing the full width. Each SLO starts a new row."""
    y = 0
    by_slo: dict[str, list[int]] = {}
    for i, panel in enumerate(panels):
        by_slo.setdefault(panel["slo"], []).append(i)
    grid: dict[int, tuple[int, int, int, int]] = {}
    for indices in by_slo.values():
        summary = [i for i in indices if panels[i]["kind"] in _SUMMARY_KINDS]
        series = [i for i in indices if panels[i]["kind"] not in _SUMMARY_KINDS]
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
    return [grid[i] for i in range(len(panels))]


def slo_dashboard(stack: Stack, service: Service) -> DashboardModel:
    panels = slo_dashboard_panels(stack, service)
    models = []
    for i, (panel, grid) in enumerate(zip(panels, slo_grid(panels), strict=True)):
        gauge = panel["kind"] == "gauge"
        models.append(
            PanelModel(
                id=i + 1,
                title=panel["title"],
                description=panel["description"],
                display=panel["kind"],
                unit=panel["unit"],
                grid=grid,
                queries=tuple(Query(chr(ord("A") + n), e["expr"], e["legend"])
                              for n, e in enumerate(panel["exprs"])),
                datasource="prometheus",
                thresholds=tuple((float(t["value"]), t["color"]) for t in panel.get("thresholds", [])),
                min=_GAUGE_RANGE[0] if gauge else None,
                max=_GAUGE_RANGE[1] if gauge else None,
            )
        )
    # model.has_dashboard implies the operations dashboard exists, so the way back is always there.
    back = ((OPERATIONS_LINK_TITLE, names.dashboard_path(names.dashboard_uid(service.name))),)
    return DashboardModel(
        uid=names.slo_dashboard_uid(service.name),
        title=names.slo_dashboard_title(service.name),
        job=names.job_name(service.name),
        tags=tuple(dict.fromkeys(["stackgen", "slo", service.name, service.team])),
        refresh=str(service.dashboards.refresh),
        time_from=f"now-{TIME_RANGE}",
        panels=tuple(models),
        links=tuple(dict.fromkeys((f"Runbook: {slo.name}", slo.alerting.runbook_url) for slo in service.slos)),
        dashboard_links=back,
        instance_variable=False,
    )
