"""The stack overview dashboard: one row per service with its traffic, error ratio, p95 latency and firing
alerts, each row linking to the service's operations dashboard.

The series are the ones the default operations dashboard reads (the first counter with a status label
for traffic and errors, else the first counter; the first histogram for latency), so the overview and
the service dashboard agree. Queries cover the whole job (no $instance variable: one board, many jobs).
"""

from __future__ import annotations

from stackgen.model import names
from stackgen.model.promql import selector
from stackgen.resolve import Stack
from stackgen.spec.service import Metric, Service
from stackgen.targets.grafana.dashboards import (
    GRID_COLUMNS,
    STATUS_LABELS,
    DashboardModel,
    PanelModel,
    Query,
    humanize,
    numbered,
)

ROW_HEIGHT = 6
WINDOW = "5m"
TITLE = "Stack overview"


def _status_label(metric: Metric) -> str | None:
    return next((label for label in metric.labels if label in STATUS_LABELS), None)


def _traffic_counter(service: Service) -> Metric | None:
    counters = [m for m in service.metrics if m.type == "counter"]
    return next((m for m in counters if _status_label(m) is not None), None) or next(iter(counters), None)


def _histogram(service: Service) -> Metric | None:
    return next((m for m in service.metrics if m.type == "histogram"), None)


def row_queries(service: Service) -> list[tuple[str, str, str, Query]]:
    """(title, display, unit, query) of each panel of the service's row, left to right."""
    job = names.job_name(service.name)
    out: list[tuple[str, str, str, Query]] = []
    counter = _traffic_counter(service)
    if counter is None:
        out.append((f"{service.name}: instances up", "timeseries", "short",
                    Query("A", f"sum({selector('up', [], job)})", "up")))
    else:
        total = f"sum(rate({selector(counter.name, [], job)}[{WINDOW}]))"
        out.append((f"{service.name}: {humanize(counter.name)} per second", "timeseries", "ops",
                    Query("A", total, "per second")))
        status = _status_label(counter)
        if status is not None:
            errors = f'{status}=~"5.."'
            bad = f"sum(rate({selector(counter.name, [errors], job)}[{WINDOW}]))"
            out.append((f"{service.name}: error ratio ({status} 5xx)", "timeseries", "percentunit",
                        Query("A", f"{bad}\n/\n{total}", "error ratio")))
    histogram = _histogram(service)
    if histogram is not None:
        buckets = selector(f"{histogram.name}_bucket", [], job)
        expr = f"histogram_quantile(0.95, sum by (le) (rate({buckets}[{WINDOW}])))"
        unit = "s" if histogram.name.endswith("_seconds") else "short"
        out.append((f"{service.name}: {humanize(histogram.name)} p95", "timeseries", unit, Query("A", expr, "p95")))
    # ALERTS has no series while nothing fires; `or vector(0)` shows 0 instead of "No data".
    firing = f'count(ALERTS{{alertstate="firing", {names.SERVICE_LABEL}="{service.name}"}}) or vector(0)'
    out.append((f"{service.name}: firing alerts", "stat", "none", Query("A", firing, "firing")))
    return out


def overview_dashboard(stack: Stack) -> DashboardModel:
    spec = stack.spec
    panels: list[PanelModel] = []
    links: list[tuple[str, str]] = []
    for row, service in enumerate(spec.services):
        link: tuple[tuple[str, str], ...] = ()
        if service.dashboards.enabled:
            link = ((f"{service.name} operations", names.dashboard_path(names.dashboard_uid(service.name))),)
            links.append(link[0])
        cells = row_queries(service)
        width = GRID_COLUMNS // len(cells)
        for n, (title, display, unit, query) in enumerate(cells):
            w = GRID_COLUMNS - n * width if n == len(cells) - 1 else width
            panels.append(PanelModel(
                id=0, title=title, description=service.description or service.name,
                display=display, unit=unit,  # type: ignore[arg-type]
                grid=(n * width, row * ROW_HEIGHT, w, ROW_HEIGHT), queries=(query,), datasource="prometheus",
                links=link,
            ))
    uid = names.overview_dashboard_uid(spec.name)
    return DashboardModel(
        uid=uid,
        title=f"{spec.name} - {TITLE}",
        job=spec.name,
        tags=("stackgen", "overview"),
        refresh="1m",
        time_from="now-6h",
        panels=numbered(uid, panels),
        dashboard_links=tuple(links),
        instance_variable=False,
    )
