"""One PNG a dashboard: matplotlib's Agg canvas (no display, no pyplot state), DejaVu Sans (matplotlib ships
it, so every machine draws the same glyphs) and no timestamp in the PNG: same dashboard and data, same bytes.

Each panel gets the box layout.py reports; what is drawn inside depends on its type and on whether a
Prometheus was given (its queries' results) or not (its PromQL). A type the preview does not know gets a
placeholder that names it: a preview never fails on a panel.
"""

from __future__ import annotations

import math
import os
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import is_color_like
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from stackgen.preview import owned, page
from stackgen.preview.layout import Box, layout
from stackgen.preview.query import QueryError, interpolate, legend, query_range, step_for, variables
from stackgen.preview.units import format_value, tick_digits

DPI = 100
BACKGROUND, PANEL, BORDER, TEXT, MUTED, ERROR = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e9e", "#f2495c"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0", "#37872d", "#fade2a"]
RC = {  # everything that could differ between machines or runs, pinned
    "font.family": "DejaVu Sans",
    "font.monospace": ["DejaVu Sans Mono"],
    "svg.hashsalt": "stackgen-preview",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.unicode_minus": False,
    "text.parse_math": False,  # PromQL has $variables; mathtext would read them as formulas
    "text.color": TEXT,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
}
TITLE_PX, PAD_PX = 24, 8
PROMETHEUS_TYPES = {"prometheus", None}  # a panel without a datasource type inherits the dashboard's (Prometheus)
MAX_LEGEND = 6


@dataclass
class DrawnSeries:
    name: str
    times: list[float]
    values: list[float]


@dataclass
class PanelReport:
    """What was drawn for one panel: where, as what, and with which data (the tests read this)."""

    id: object
    title: str
    type: str
    box: Box
    drawn: str  # timeseries, stat, gauge, heatmap, queries, logs, row, placeholder
    queries: list[tuple[str, str, int]] = field(default_factory=list)  # (refId, PromQL as sent, step)
    series: list[DrawnSeries] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class DashboardPreview:
    uid: str
    title: str
    png: Path
    size: tuple[int, int]  # width, height in pixels
    panels: dict[object, PanelReport]


@dataclass(frozen=True)
class Source:
    """Where data comes from: a Prometheus and the time range, or None for a layout-only preview."""

    url: str
    end: float
    range_s: float


def _color(name: object) -> str:
    """Grafana's colour names (green, semi-dark-red, #hex) as matplotlib colours; unknown ones grey."""
    if not isinstance(name, str):
        return MUTED
    for prefix in ("super-light-", "light-", "semi-dark-", "dark-"):
        name = name.removeprefix(prefix)
    return name if is_color_like(name) else MUTED


def _defaults(panel: dict) -> dict:
    config = panel.get("fieldConfig") if isinstance(panel.get("fieldConfig"), dict) else {}
    return config.get("defaults") if isinstance(config.get("defaults"), dict) else {}


def _thresholds(panel: dict) -> list[tuple[float | None, str]]:
    steps = (_defaults(panel).get("thresholds") or {}).get("steps", [])
    return [(s.get("value") if isinstance(s.get("value"), int | float) else None, _color(s.get("color")))
            for s in steps if isinstance(s, dict)]


def _threshold_color(panel: dict, value: float | None) -> str:
    color = PALETTE[0]
    for limit, step_color in _thresholds(panel):
        if limit is None or (value is not None and value >= limit):
            color = step_color
    return color


def _targets(panel: dict) -> list[dict]:
    return [t for t in panel.get("targets", []) if isinstance(t, dict)] if isinstance(panel.get("targets"), list) else []


def _datasource_type(panel: dict, target: dict | None = None) -> object:
    for holder in (target or {}, panel):
        ds = holder.get("datasource")
        if isinstance(ds, dict) and "type" in ds:
            return ds["type"]
    return None


class _Canvas:
    """A figure in pixel coordinates, origin top left like the layout's boxes."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=BACKGROUND)
        FigureCanvasAgg(self.figure)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return x / self.width, 1 - y / self.height

    def rect(self, box: Box, face: str, edge: str | None = None) -> None:
        x, y = self.xy(box.left, box.bottom)
        self.figure.add_artist(Rectangle((x, y), box.width / self.width, box.height / self.height, facecolor=face,
                                         edgecolor=edge or face, linewidth=1, transform=self.figure.transFigure,
                                         zorder=-1))  # under the axes (zorder 0), which the figure draws in zorder

    def text(self, x: float, y: float, text: str, **kw) -> None:
        self.figure.text(*self.xy(x, y), text, **kw)

    def axes(self, box: Box, left: int = 56, bottom: int = 20):
        x, y = self.xy(box.left + left, box.bottom - bottom)
        ax = self.figure.add_axes((x, y, (box.width - left - PAD_PX) / self.width,
                                   (box.height - TITLE_PX - bottom - 4) / self.height))
        ax.set_facecolor(PANEL)
        for spine in ax.spines.values():
            spine.set_color(BORDER)
        ax.tick_params(labelsize=6, length=2)
        return ax


def _fit(text: str, width_px: float, size: float, mono: bool = False) -> str:
    chars = max(4, int(width_px / (size * (0.62 if mono else 0.58) * DPI / 72)))
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _lines(canvas: _Canvas, box: Box, lines: list[str], size: float = 6.5, color: str = TEXT, mono: bool = True,
           top: int = TITLE_PX + 4) -> None:
    """`lines` wrapped to the box and cut where the box ends."""
    line_px = size * 1.35 * DPI / 72
    room = max(1, int((box.height - top - PAD_PX) / line_px))
    chars = max(8, int((box.width - 2 * PAD_PX) / (size * 0.62 * DPI / 72)))
    wrapped = [w for line in lines for w in (textwrap.wrap(line, chars, break_long_words=True) or [""])]
    if len(wrapped) > room:
        wrapped = wrapped[: room - 1] + [f"… {len(wrapped) - room + 1} more line(s)"]
    for i, line in enumerate(wrapped):
        canvas.text(box.left + PAD_PX, box.top + top + (i + 0.8) * line_px, line, fontsize=size, color=color,
                    family="monospace" if mono else "sans-serif", va="baseline")


def _threshold_text(panel: dict, unit: str | None) -> str:
    steps = _thresholds(panel)
    if len(steps) <= 1:
        return ""
    return "thresholds: " + ", ".join(f"{color} from {format_value(value, unit)}" if value is not None else f"base {color}"
                                      for value, color in steps)


def _frame(canvas: _Canvas, box: Box, panel: dict, kind: str, unit: str | None) -> None:
    canvas.rect(box, PANEL, BORDER)
    title = str(panel.get("title") or "")
    meta = " · ".join(x for x in (kind, unit) if x)
    canvas.text(box.left + PAD_PX, box.top + 16, _fit(title, box.width - 2 * PAD_PX - 7 * len(meta), 8.5),
                fontsize=8.5, weight="bold", va="baseline")
    canvas.text(box.right - PAD_PX, box.top + 16, meta, fontsize=6.5, color=MUTED, ha="right", va="baseline")


def _fetch(report: PanelReport, panel: dict, dashboard_vars: dict[str, str], source: Source):
    """Each Prometheus target's series, with its legend name; a failed query is kept as the panel's error."""
    step = step_for(source.range_s, panel.get("maxDataPoints"))
    out = []
    for target in _targets(panel):
        if target.get("hide") is True or not isinstance(target.get("expr"), str):
            continue
        expr = interpolate(target["expr"], dashboard_vars, step, source.range_s)
        report.queries.append((str(target.get("refId", "")), expr, step))
        try:
            series = query_range(source.url, expr, source.end - source.range_s, source.end, step)
        except QueryError as exc:
            report.errors.append(f"{target.get('refId', '')}: {exc}")
            continue
        out += [(legend(target.get("legendFormat"), s.labels, expr), s) for s in series]
    return out


def _tick_step(ax) -> float:
    """The distance between the y axis' ticks (0 with fewer than two)."""
    ticks = sorted(set(ax.yaxis.get_majorticklocs()))
    return min((b - a for a, b in zip(ticks, ticks[1:], strict=False)), default=0.0)


def _clock(range_s: float) -> FuncFormatter:
    """Time ticks in UTC (the same picture on every machine), with seconds or dates where the range needs them."""
    fmt = "%H:%M:%S" if range_s <= 900 else "%H:%M" if range_s <= 86400 else "%m-%d %H:%M"
    return FuncFormatter(lambda x, _: time.strftime(fmt, time.gmtime(x)))


def _draw_timeseries(canvas: _Canvas, box: Box, panel: dict, report: PanelReport, data, source: Source, unit) -> None:
    ax = canvas.axes(box)
    for i, (name, series) in enumerate(data):
        times = [t for t, _ in series.points]
        values = [v for _, v in series.points]
        (line,) = ax.plot(times, values, color=PALETTE[i % len(PALETTE)], linewidth=1, label=_fit(name, box.width / 2, 6))
        report.series.append(DrawnSeries(name, [float(x) for x in line.get_xdata()], [float(y) for y in line.get_ydata()]))
    for value, color in _thresholds(panel):
        if value is not None:
            ax.axhline(value, color=color, linewidth=0.8, linestyle="--")
    ax.set_xlim(source.end - source.range_s, source.end)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(_clock(source.range_s))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit, tick_digits(v, _tick_step(ax)))))
    if data:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[:MAX_LEGEND], labels[:MAX_LEGEND], loc="upper left", fontsize=5.5, frameon=False,
                  labelcolor=TEXT, ncols=2 if len(labels) > 3 else 1)
    else:
        ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", color=MUTED, fontsize=9)


def _last(series) -> float | None:
    values = [v for _, v in series.points if not math.isnan(v)]
    return values[-1] if values else None


def _draw_stat(canvas: _Canvas, box: Box, panel: dict, report: PanelReport, data, unit, gauge: bool) -> None:
    shown = data[:4] or [("", None)]
    room = (box.height - TITLE_PX - PAD_PX) / len(shown)
    size = max(8.0, min(28.0, room * 0.45 * 72 / DPI))
    for i, (name, series) in enumerate(shown):
        value = _last(series) if series is not None else None
        if series is not None:
            report.series.append(DrawnSeries(name, [t for t, _ in series.points], [v for _, v in series.points]))
        y = box.top + TITLE_PX + room * (i + 0.62)
        color = _threshold_color(panel, value)
        canvas.text(box.left + box.width / 2, y, format_value(value, unit), fontsize=size, weight="bold", ha="center",
                    va="baseline", color=color if value is not None else MUTED)
        if name and len(shown) > 1:
            canvas.text(box.left + box.width / 2, y + 10, _fit(name, box.width - 16, 6), fontsize=6, ha="center",
                        color=MUTED, va="baseline")
        if gauge and value is not None:
            low = _defaults(panel).get("min") if isinstance(_defaults(panel).get("min"), int | float) else 0
            high = _defaults(panel).get("max")
            high = high if isinstance(high, int | float) else (1 if unit == "percentunit" else 100)
            share = min(max((value - low) / (high - low), 0), 1) if high > low else 0
            bar = Box(box.left + 2 * PAD_PX, int(y + 6), box.width - 4 * PAD_PX, 6)
            canvas.rect(bar, BORDER)
            if share > 0:
                canvas.rect(Box(bar.left, bar.top, max(1, int(bar.width * share)), bar.height), color)


def _draw_heatmap(canvas: _Canvas, box: Box, report: PanelReport, data, source: Source) -> None:
    """One row a series (bucket), ordered by `le` where the series have it, one column a step."""
    ax = canvas.axes(box)

    def bound(item) -> float:
        try:
            return float(item[1].labels.get("le", "nan"))
        except ValueError:
            return math.nan

    rows = sorted(data, key=lambda item: (math.isnan(bound(item)), bound(item), item[0]))
    times = sorted({t for _, s in rows for t, _ in s.points})
    if not rows or not times:
        ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", color=MUTED, fontsize=9)
        return
    column = {t: i for i, t in enumerate(times)}
    grid = [[math.nan] * len(times) for _ in rows]
    for r, (name, series) in enumerate(rows):
        for t, v in series.points:
            grid[r][column[t]] = v
        report.series.append(DrawnSeries(name, [t for t, _ in series.points], [v for _, v in series.points]))
    ax.imshow(grid, aspect="auto", origin="lower", cmap="inferno", interpolation="nearest",
              extent=(times[0], times[-1], 0, len(rows)))
    ax.set_yticks([i + 0.5 for i in range(len(rows))][:: max(1, len(rows) // 4)],
                  [_fit(name, 40, 6) for name, _ in rows][:: max(1, len(rows) // 4)])
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(_clock(source.range_s))


def _queries_text(panel: dict) -> list[str]:
    lines = []
    for target in _targets(panel):
        query = target.get("expr") if isinstance(target.get("expr"), str) else target.get("query")
        if isinstance(query, str):
            fmt = target.get("legendFormat")
            lines.append(f"{target.get('refId', '?')}: " + " ".join(query.split()))
            if isinstance(fmt, str) and fmt:
                lines.append(f"   legend: {fmt}")
    return lines or ["(no queries)"]


def _draw_panel(canvas: _Canvas, panel: dict, box: Box, dashboard_vars: dict[str, str], source: Source | None) -> PanelReport:
    kind = str(panel.get("type") or "(none)")
    unit = _defaults(panel).get("unit") if isinstance(_defaults(panel).get("unit"), str) else None
    report = PanelReport(panel.get("id"), str(panel.get("title") or ""), kind, box, "placeholder")
    if kind == "row":
        canvas.rect(box, BACKGROUND)
        canvas.text(box.left + PAD_PX, box.top + box.height / 2 + 4, _fit(report.title, box.width, 10), fontsize=10,
                    weight="bold", va="baseline")
        report.drawn = "row"
        return report
    _frame(canvas, box, panel, kind, unit)
    thresholds = _threshold_text(panel, unit)
    ds_type = _datasource_type(panel)
    if kind == "logs" or (ds_type not in PROMETHEUS_TYPES and kind in ("timeseries", "stat", "gauge", "heatmap")):
        ds = panel.get("datasource") if isinstance(panel.get("datasource"), dict) else {}
        report.drawn = "logs" if kind == "logs" else "placeholder"
        _lines(canvas, box, [f"{kind} panel from the {ds.get('type', '?')} datasource {ds.get('uid', '?')!r}: "
                             "not drawn by the preview", *_queries_text(panel)], color=MUTED)
        return report
    if kind not in ("timeseries", "graph", "stat", "gauge", "heatmap"):
        _lines(canvas, box, [f"panel type {kind!r} is not drawn by the preview", *_queries_text(panel)], color=MUTED)
        return report
    if source is None:
        report.drawn = "queries"
        _lines(canvas, box, [*_queries_text(panel), *([thresholds] if thresholds else [])])
        return report
    data = _fetch(report, panel, dashboard_vars, source)
    if kind in ("timeseries", "graph"):
        report.drawn = "timeseries"
        _draw_timeseries(canvas, box, panel, report, data, source, unit)
    elif kind == "heatmap":
        report.drawn = "heatmap"
        _draw_heatmap(canvas, box, report, data, source)
    else:
        report.drawn = kind
        _draw_stat(canvas, box, panel, report, data, unit, gauge=kind == "gauge")
    if report.errors:
        _lines(canvas, box, report.errors, color=ERROR, mono=False, top=box.height - 3 * PAD_PX - 6)
    return report


def file_name(uid: str) -> str:
    """A file name for a dashboard uid: only characters every file system and URL takes as they are."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in uid).lstrip(".") + ".png" if uid else "dashboard.png"


def render_dashboard(dashboard: dict, png: Path, source: Source | None = None) -> DashboardPreview:
    """Draw `dashboard` into the PNG file `png` (written whole, then renamed into place)."""
    placed, (width, height) = layout(dashboard.get("panels", []))
    with matplotlib.rc_context(RC):
        canvas = _Canvas(width, height)
        title = str(dashboard.get("title") or dashboard.get("uid") or "")
        canvas.text(PAD_PX, 28, _fit(title, width * 0.6, 13), fontsize=13, weight="bold", va="baseline")
        when = ("layout and queries (no Prometheus)" if source is None else
                f"{source.url}, {int(source.range_s)}s to {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(source.end))} UTC")
        canvas.text(width - PAD_PX, 28, _fit(when, width * 0.38, 7), fontsize=7, color=MUTED, ha="right", va="baseline")
        dashboard_vars = variables(dashboard)
        reports = {}
        for item in placed:
            report = _draw_panel(canvas, item.panel, item.box, dashboard_vars, source)
            reports[report.id if report.id is not None else f"#{len(reports)}"] = report
        png.parent.mkdir(parents=True, exist_ok=True)
        partial = png.with_name(f".{png.name}.partial")
        with open(partial, "wb") as handle:
            canvas.figure.canvas.print_png(handle, metadata=owned.PNG_METADATA)
    os.replace(partial, png)
    return DashboardPreview(str(dashboard.get("uid") or ""), title, png, (width, height), reports)


def render_all(dashboards: list[dict], to: Path, source: Source | None = None) -> list[DashboardPreview]:
    """A PNG for each dashboard and index.html linking them, in `to`; DashboardError, before anything is
    drawn, when one of those files exists and preview did not write it."""
    pngs = [to / file_name(str(d.get("uid") or f"dashboard-{i}")) for i, d in enumerate(dashboards)]
    owned.refuse_foreign([*pngs, to / "index.html"])
    previews = [render_dashboard(d, png, source) for d, png in zip(dashboards, pngs, strict=True)]
    page.write_index(to, previews, source.url if source else None)
    return previews
