"""Dashboards as builder-neutral data: panels with their PromQL, units, legends and grid positions.

This layer knows the spec and PromQL; stackgen.targets.grafana.builder turns the result into
Grafana JSON (today with grafanalib). Keeping the two apart is what lets the builder be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from stackgen.model import names
from stackgen.model.promql import number, selector
from stackgen.spec.alerts import Selector
from stackgen.spec.grafana import (
    Display,
    GaugePanel,
    Panel,
    PromQLPanel,
    PromQLTarget,
    QuantilePanel,
    RatePanel,
    RatioPanel,
    StatPanel,
)
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.types import Duration
from stackgen.targets.grafana.panel_ids import panel_ids

GRID_COLUMNS = 24
INSTANCE_MATCHER = f'instance=~"${names.INSTANCE_VARIABLE}"'
LOGS_PANEL_HEIGHT = 10
SLO_LINK_TITLE = "Error budget (SLOs)"
OPERATIONS_LINK_TITLE = "Operations"
_DEFAULT_UNIT = {
    "rate": "ops", "quantile": "s", "ratio": "percentunit", "gauge": "short", "promql": "short", "heatmap": "s"
}
_DEFAULT_DISPLAY: dict[str, Display] = {"stat": "stat"}
# What a panel shows and where its queries go: the spec's displays, plus the logs panel and the
# default dashboards' bucket heatmaps that stackgen adds.
PanelDisplay = Literal[Display, "logs", "heatmap"]
Datasource = Literal["prometheus", "elasticsearch"]
DEFAULT_QUANTILES = [0.5, 0.95, 0.99]
# Labels whose 5xx values mark a failed request; a counter with one gets an error-ratio panel by default.
STATUS_LABELS = ("status", "code", "status_code", "http_status", "http_code", "response_code")
# Name suffixes that carry the unit (OpenMetrics); titles drop them because the axis shows the unit.
_UNIT_SUFFIXES = ("_total", "_seconds", "_bytes", "_percent", "_ratio", "_info")
_ACRONYMS = {"gpu", "cpu", "http", "api", "io", "db", "rpc", "grpc", "tcp", "dns", "ttl", "url"}


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
class LabelVariable:
    """A multi-value query variable listing one label's values (the SLO dashboard's `by` labels):
    `label_values(<series>, <label>)`; queries filter with `<label>=~"$<name>"`."""

    name: str
    label: str
    series: str  # a selector whose series carry the label


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
    label_variables: tuple[LabelVariable, ...] = ()  # after datasource (and instance)


@dataclass(frozen=True)
class HeatmapPanel:
    """A histogram's buckets over time. Default dashboards only: the spec has no heatmap kind, so this
    mirrors the few spec-panel fields that layout and service_dashboard read."""

    title: str
    metric: str
    description: str = ""
    unit: str | None = None
    window: Duration = Duration(300_000)
    width: int = 12
    height: int = 8
    grid: None = None
    display: PanelDisplay = "heatmap"
    kind: str = "heatmap"


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


def panel_queries(service: Service, panel: Panel | HeatmapPanel) -> list[Query]:
    """The PromQL of a typed panel, or the raw queries of a promql panel."""
    match panel:
        case HeatmapPanel():
            buckets = _sel(service, f"{panel.metric}_bucket", [])
            return [Query("A", f"sum by (le) (rate({buckets}[{panel.window}]))", "{{le}}")]
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


def panel_metrics(panel: Panel | HeatmapPanel) -> list[str]:
    """Contract metrics a typed panel selects (raw PromQL is parsed by the validators instead)."""
    match panel:
        case RatioPanel():
            return [panel.bad.metric, panel.total.metric]
        case RatePanel() | QuantilePanel() | StatPanel() | GaugePanel() | HeatmapPanel():
            return [panel.metric]
    return []


def _common_prefix(service: Service) -> str:
    """The namespace every metric of the service shares (`fugatto_`), which titles leave out."""
    heads = {m.name.split("_", 1)[0] for m in service.metrics}
    if len(service.metrics) < 2 or len(heads) != 1:
        return ""
    prefix = f"{heads.pop()}_"
    return prefix if all(len(m.name) > len(prefix) for m in service.metrics) else ""


def humanize(metric: str, prefix: str = "") -> str:
    """`fugatto_gpu_memory_usage_bytes` -> `GPU memory usage`: a title for a panel on the metric."""
    name = metric.removeprefix(prefix)
    for suffix in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name.removesuffix(suffix)
            break
    words = [w.upper() if w in _ACRONYMS else w for w in name.split("_") if w]
    text = " ".join(words) or metric
    return text[0].upper() + text[1:]


def _status_label(labels: list[str]) -> str | None:
    return next((label for label in labels if label in STATUS_LABELS), None)


def _scrape_health(service: Service) -> PromQLPanel:
    expr = _sel(service, "up", [])
    return PromQLPanel(
        kind="promql", title="Scrape health (up)", display="stat", unit="none", width=12,
        description=f"1 while Prometheus scrapes each {service.name} instance, 0 when a scrape fails",
        targets=[PromQLTarget(expr=expr, legend="{{instance}}")],
    )


def default_panels(service: Service) -> list[Panel | HeatmapPanel]:
    """A useful operations dashboard from the metric contract alone: counters as rates by their labels
    (plus a 5xx error ratio where a label carries the status), histograms as p50/p95/p99 by their labels
    and as a bucket heatmap, `_percent`/`_ratio` gauges as saturation dials, other gauges as values,
    and whether Prometheus can scrape the service at all."""
    panels: list[Panel | HeatmapPanel] = []
    prefix = _common_prefix(service)
    for metric in service.metrics:
        name = humanize(metric.name, prefix)
        labels = list(metric.labels)
        if metric.type == "counter":
            title = f"{name} per second" + (f" by {', '.join(labels)}" if labels else "")
            panels.append(RatePanel(kind="rate", title=title, metric=metric.name, by=labels, unit="ops",
                                    description=metric.help))
            status = _status_label(labels)
            if status is not None:
                panels.append(RatioPanel(
                    kind="ratio", title=f"{name} error ratio ({status} 5xx)", unit="percentunit",
                    description=f"Share of {metric.name} with {status}=~\"5..\": {metric.help}",
                    bad=Selector(metric=metric.name, matchers=[f'{status}=~"5.."']),
                    total=Selector(metric=metric.name), legend="error ratio",
                ))
        elif metric.type == "histogram":
            unit = "s" if metric.name.endswith("_seconds") else "short"
            panels.append(QuantilePanel(kind="quantile", title=f"{name} p50 / p95 / p99", metric=metric.name,
                                        quantiles=DEFAULT_QUANTILES, by=labels, unit=unit,
                                        description=metric.help))
            panels.append(HeatmapPanel(title=f"{name} distribution", metric=metric.name, unit=unit,
                                       description=f"Observations per bucket: {metric.help}"))
        elif metric.type == "gauge":
            if metric.name.endswith("_percent"):
                panels.append(GaugePanel(kind="gauge", title=name, metric=metric.name, unit="percent",
                                         display="gauge", min=0, max=100, width=6, description=metric.help))
            elif metric.name.endswith("_ratio"):
                panels.append(GaugePanel(kind="gauge", title=name, metric=metric.name, unit="percentunit",
                                         display="gauge", min=0, max=1, width=6, description=metric.help))
            else:
                unit = "bytes" if metric.name.endswith("_bytes") else "short"
                panels.append(GaugePanel(kind="gauge", title=name, metric=metric.name, unit=unit,
                                         description=metric.help))
    panels.append(_scrape_health(service))
    return panels


def layout(panels: list[Panel | HeatmapPanel]) -> list[tuple[int, int, int, int]]:
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


def numbered(uid: str, panels: list[PanelModel]) -> tuple[PanelModel, ...]:
    """The panels with ids from their identity (panel_ids), so inserting one renumbers no other."""
    return tuple(replace(p, id=pid) for p, pid in zip(panels, panel_ids(uid, [p.title for p in panels]), strict=True))


def _runbooks(service: Service) -> dict[str, list[tuple[str, str]]]:
    """metric -> [(alert title, runbook url)] so a panel links to the runbooks of alerts on its metrics."""
    out: dict[str, list[tuple[str, str]]] = {}
    for alert in service.alerts:
        for _, sel in alert.selectors():
            out.setdefault(sel.metric, []).append((f"Runbook: {alert.name}", alert.runbook_url))
    return out


def _lucene_phrase(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def log_query(service_name: str, level_field: str, level: str) -> str:
    """Lucene for one service's lines at one level. The datasource reads every service's `*-logs-*`
    indices, and Logstash names them after the service, so `_index` picks the service."""
    return f"_index:{names.index_patterns(service_name)[0]} AND {level_field}:{_lucene_phrase(level)}"


def service_dashboard(spec: Spec, service: Service) -> DashboardModel:
    board = service.dashboards
    panels: list[Panel | HeatmapPanel] = list(board.panels) or default_panels(service)
    runbooks = _runbooks(service)
    models: list[PanelModel] = []
    for panel, grid in zip(panels, layout(panels), strict=True):
        display = panel.display or _DEFAULT_DISPLAY.get(panel.kind, "timeseries")
        if isinstance(panel, StatPanel):
            default_unit = "ops" if panel.function == "rate" else "short"
        else:
            default_unit = _DEFAULT_UNIT[panel.kind]
        metrics = tuple(dict.fromkeys(panel_metrics(panel)))
        links = tuple(dict.fromkeys(link for m in metrics for link in runbooks.get(m, [])))
        models.append(
            PanelModel(
                id=0,  # numbered below, from the title
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
        query = log_query(service.name, logs.level_field, logs.error_level)
        models.append(
            PanelModel(
                id=0,
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
    uid = names.dashboard_uid(service.name)
    return DashboardModel(
        uid=uid,
        title=title,
        job=names.job_name(service.name),
        tags=tuple(dict.fromkeys(["stackgen", service.name, service.team, *board.tags])),
        refresh=str(board.refresh),
        time_from=f"now-{Duration(board.time_range)}",
        panels=numbered(uid, models),
        links=dashboard_links,
        dashboard_links=to_slos if service.slos else (),
    )
