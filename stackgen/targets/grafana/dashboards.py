"""Dashboards as builder-neutral data: panels with their PromQL, units, legends and grid positions.

This layer knows the spec and PromQL; stackgen.targets.grafana.builder turns the result into
Grafana JSON (today with grafanalib). Keeping the two apart is what lets the builder be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from stackgen.model import names
from stackgen.model.promql import number, selector
from stackgen.spec.grafana import (
    Display,
    GaugePanel,
    Panel,
    PromQLPanel,
    QuantilePanel,
    RatePanel,
    RatioPanel,
    StatPanel,
)
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.types import Duration

GRID_COLUMNS = 24
INSTANCE_MATCHER = f'instance=~"${names.INSTANCE_VARIABLE}"'
LOGS_PANEL_HEIGHT = 10
SLO_LINK_TITLE = "Error budget (SLOs)"
OPERATIONS_LINK_TITLE = "Operations"
_DEFAULT_UNIT = {"rate": "ops", "quantile": "s", "ratio": "percentunit", "gauge": "short", "promql": "short"}
_DEFAULT_DISPLAY: dict[str, Display] = {"stat": "stat"}
# What a panel shows and where its queries go: the spec's displays, plus the logs panel stackgen adds.
PanelDisplay = Literal[Display, "logs"]
Datasource = Literal["prometheus", "elasticsearch"]


@dataclass(frozen=True)
class Query:
    ref_id: str
    expr: str
    legend: str
    unit: str | None = None  # a per-query unit (a field override); None: the panel's unit


@dataclass(frozen=True)
class PanelModel:
    id: int
    title: str
    description: str
    display: PanelDisplay
    unit: str
    grid: tuple[int, int, int, int]  # x, y, w, h
    queries: tuple[Query, ...]
    datasource: Datasource
    metrics: tuple[str, ...] = ()  # contract metrics the queries select (for runbook links)
    links: tuple[tuple[str, str], ...] = ()  # (title, url)
    min: float | None = None
    max: float | None = None
    # Coloring steps (value, color), ascending; the first also colors everything below it (Grafana's
    # base step). Empty: the builder's single neutral step.
    thresholds: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class DashboardModel:
    uid: str
    title: str
    job: str
    tags: tuple[str, ...]
    refresh: str
    time_from: str
    panels: tuple[PanelModel, ...]
    links: tuple[tuple[str, str], ...] = field(default=())  # runbooks: open in a new tab
    dashboard_links: tuple[tuple[str, str], ...] = ()  # (title, /d/<uid>): other generated dashboards
    instance_variable: bool = True  # False where no query filters by $instance (SLO recording rules)


def _ref(i: int) -> str:
    return chr(ord("A") + i)


def _sel(service: Service, metric: str, matchers: list[str]) -> str:
    return selector(metric, [*matchers, INSTANCE_MATCHER], names.job_name(service.name))


def _sum(by: list[str], inner: str) -> str:
    return f"sum by ({', '.join(by)}) ({inner})" if by else f"sum({inner})"


def _legend(panel: Panel, labels: list[str], fallback: str) -> str:
    if panel.legend is not None:
        return panel.legend
    return " ".join(f"{{{{{label}}}}}" for label in labels) or fallback


def panel_queries(service: Service, panel: Panel) -> list[Query]:
    """The PromQL of a typed panel, or the raw queries of a promql panel."""
    match panel:
        case RatePanel():
            expr = _sum(panel.by, f"rate({_sel(service, panel.metric, panel.matchers)}[{panel.window}])")
            return [Query("A", expr, _legend(panel, panel.by, panel.title))]
        case QuantilePanel():
            out = []
            for i, q in enumerate(panel.quantiles):
                buckets = _sel(service, f"{panel.metric}_bucket", panel.matchers)
                inner = f"sum by ({', '.join(['le', *panel.by])}) (rate({buckets}[{panel.window}]))"
                by_legend = " ".join(f"{{{{{label}}}}}" for label in panel.by)
                legend = panel.legend or f"p{number(q * 100)}{' ' + by_legend if by_legend else ''}"
                out.append(Query(_ref(i), f"histogram_quantile({number(q)}, {inner})", legend))
            return out
        case RatioPanel():
            bad = _sum(
                panel.by, f"rate({_sel(service, panel.bad.metric, panel.bad.matchers)}[{panel.window}])"
            )
            total = _sum(
                panel.by, f"rate({_sel(service, panel.total.metric, panel.total.matchers)}[{panel.window}])"
            )
            return [Query("A", f"{bad}\n/\n{total}", _legend(panel, panel.by, "ratio"))]
        case StatPanel():
            sel = _sel(service, panel.metric, panel.matchers)
            expr = f"sum(rate({sel}[{panel.window}]))" if panel.function == "rate" else f"sum({sel})"
            return [Query("A", expr, panel.legend or panel.title)]
        case GaugePanel():
            expr = _sel(service, panel.metric, panel.matchers)
            labels = list(panel.by)
            if panel.aggregate != "none":
                expr = (
                    f"{panel.aggregate} by ({', '.join(panel.by)}) ({expr})"
                    if panel.by
                    else f"{panel.aggregate}({expr})"
                )
            else:
                metric = service.metric(panel.metric)
                labels = ["instance", *(metric.labels if metric else [])]
            if panel.scale != 1:
                expr = f"{expr} / {number(panel.scale)}"
            return [Query("A", expr, _legend(panel, labels, panel.title))]
        case PromQLPanel():
            return [Query(_ref(i), t.expr, t.legend, t.unit) for i, t in enumerate(panel.targets)]
    raise TypeError(f"unknown panel kind {panel!r}")


def panel_metrics(panel: Panel) -> list[str]:
    """Contract metrics a typed panel selects (raw PromQL is parsed by the validators instead)."""
    match panel:
        case RatioPanel():
            return [panel.bad.metric, panel.total.metric]
        case RatePanel() | QuantilePanel() | StatPanel() | GaugePanel():
            return [panel.metric]
    return []


def default_panels(service: Service) -> list[Panel]:
    """A useful operations dashboard from the metric contract alone: counters as rates by their labels,
    histograms as p95/p50, gauges as values with a unit guessed from the OpenMetrics name suffix."""
    panels: list[Panel] = []
    for metric in service.metrics:
        if metric.type == "counter":
            panels.append(RatePanel(kind="rate", title=f"{metric.name} rate", metric=metric.name, by=list(metric.labels),
                                    unit="ops", description=metric.help))
        elif metric.type == "histogram":
            unit = "s" if metric.name.endswith("_seconds") else "short"
            panels.append(QuantilePanel(kind="quantile", title=f"{metric.name} p95 and p50", metric=metric.name,
                                        unit=unit, description=metric.help))
        elif metric.type == "gauge":
            unit = "bytes" if metric.name.endswith("_bytes") else "percent" if metric.name.endswith("_percent") else "short"
            panels.append(GaugePanel(kind="gauge", title=metric.name, metric=metric.name, unit=unit,
                                     description=metric.help))
    return panels


def layout(panels: list[Panel]) -> list[tuple[int, int, int, int]]:
    """Row-major flow on the 24-column grid; a panel with an explicit `grid` keeps it (and does not move
    the flow), so overlaps are possible by hand and are reported by the grafana validator."""
    x = y = row_height = 0
    out = []
    for panel in panels:
        if panel.grid is not None:
            out.append((panel.grid.x, panel.grid.y, panel.grid.w, panel.grid.h))
            continue
        w, h = panel.width, panel.height
        if x + w > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        out.append((x, y, w, h))
        x += w
        row_height = max(row_height, h)
    return out


def _runbooks(service: Service) -> dict[str, list[tuple[str, str]]]:
    """metric -> [(alert title, runbook url)] so a panel links to the runbooks of alerts on its metrics."""
    out: dict[str, list[tuple[str, str]]] = {}
    for alert in service.alerts:
        for _, sel in alert.selectors():
            out.setdefault(sel.metric, []).append((f"Runbook: {alert.name}", alert.runbook_url))
    return out


def service_dashboard(spec: Spec, service: Service) -> DashboardModel:
    board = service.dashboards
    panels = list(board.panels) or default_panels(service)
    runbooks = _runbooks(service)
    models: list[PanelModel] = []
    for i, (panel, grid) in enumerate(zip(panels, layout(panels), strict=True)):
        display = panel.display or _DEFAULT_DISPLAY.get(panel.kind, "timeseries")
        if isinstance(panel, StatPanel):
            default_unit = "ops" if panel.function == "rate" else "short"
        else:
            default_unit = _DEFAULT_UNIT[panel.kind]
        metrics = tuple(dict.fromkeys(panel_metrics(panel)))
        links = tuple(dict.fromkeys(link for m in metrics for link in runbooks.get(m, [])))
        models.append(
            PanelModel(
                id=i + 1,
                title=panel.title,
                description=panel.description,
                display=display,
                unit=panel.unit or default_unit,
                grid=grid,
                queries=tuple(panel_queries(service, panel)),
                datasource="prometheus",
                metrics=metrics,
                links=links,
                min=getattr(panel, "min", None),
                max=getattr(panel, "max", None),
            )
        )
    if board.logs_panel and service.logs is not None:
        bottom = max((y + h for _, y, _, h in (m.grid for m in models)), default=0)
        logs = service.logs
        query = f'{logs.level_field}:"{logs.error_level}"'
        models.append(
            PanelModel(
                id=len(models) + 1,
                title="Error log lines",
                display="logs",
                unit="none",
                description=f"Lines at {logs.error_level} from the {service.name} log (Elasticsearch)",
                grid=(0, bottom, GRID_COLUMNS, LOGS_PANEL_HEIGHT),
                queries=(Query("A", query, ""),),
                datasource="elasticsearch",
            )
        )
    dashboard_links = tuple(dict.fromkeys((f"Runbook: {a.name}", a.runbook_url) for a in service.alerts))
    to_slos = ((SLO_LINK_TITLE, names.dashboard_path(names.slo_dashboard_uid(service.name))),)
    title = board.title or f"{service.description or service.name} - Operations"
    return DashboardModel(
        uid=names.dashboard_uid(service.name),
        title=title,
        job=names.job_name(service.name),
        tags=tuple(dict.fromkeys(["stackgen", service.name, service.team, *board.tags])),
        refresh=str(board.refresh),
        time_from=f"now-{Duration(board.time_range)}",
        panels=tuple(models),
        links=dashboard_links,
        dashboard_links=to_slos if service.slos else (),
    )
