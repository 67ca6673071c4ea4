"""Previews drawn from a real Prometheus: the request-rate panel's lines are the query's values, stat panels
show their value, a query Prometheus rejects is written in the panel, and the same data draws the same bytes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from stackgen.preview import load_dashboards, render_dashboard
from stackgen.preview.draw import Source
from tests.preview.conftest import SPAN, T0, query_range_by_route

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_request_rate_lines_are_the_query_values(prometheus, tmp_path):
    dashboard = load_dashboards(ROOT / "generated", ["fugatto-audio-lab"])[0]
    source = Source(prometheus, float(T0 + SPAN), 3000.0)
    preview = render_dashboard(dashboard, tmp_path / "ops.png", source)
    panel = next(r for r in preview.panels.values() if r.title == "Request Rate")
    assert panel.drawn == "timeseries" and not panel.errors
    assert sorted(s.name for s in panel.series) == ["GET /health", "POST /generate"]  # legendFormat {{method}} {{endpoint}}
    ((_, expr, step),) = panel.queries
    assert 'instance=~".*"' in expr and step == 30  # All is the variable's allValue; 3000 s over 100 points
    expected = query_range_by_route(prometheus, expr, T0 + SPAN - 3000, T0 + SPAN, step)
    for drawn in panel.series:
        assert drawn.times and list(zip(drawn.times, drawn.values, strict=True)) == expected[drawn.name]
    image = Image.open(preview.png).convert("RGB").crop((panel.box.left, panel.box.top, panel.box.right, panel.box.bottom))
    pixels = image.tobytes()
    coloured = sum(1 for rgb in zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True)
                   if max(rgb) - min(rgb) > 80)  # the frame and text are grey
    assert coloured > 200, coloured  # the lines are on the picture, not only in the report
    rates = {s.name: s.values[-1] for s in panel.series}
    assert math.isclose(rates["GET /health"], 0.2) and math.isclose(rates["POST /generate"], 0.5)
    # the same data, the same bytes
    again = render_dashboard(dashboard, tmp_path / "again.png", source)
    assert again.png.read_bytes() == preview.png.read_bytes()


def test_stats_gauges_and_failed_queries(prometheus, tmp_path):
    dashboard = {"uid": "d", "title": "d", "panels": [
        {"id": 1, "type": "stat", "title": "total rate", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
         "fieldConfig": {"defaults": {"unit": "reqps"}},
         "targets": [{"refId": "A", "expr": "sum(rate(fugatto_requests_total[5m]))"}]},
        {"id": 2, "type": "gauge", "title": "share", "gridPos": {"x": 6, "y": 0, "w": 6, "h": 4},
         "fieldConfig": {"defaults": {"unit": "percentunit"}},
         "targets": [{"refId": "A", "expr": 'sum(rate(fugatto_requests_total{method="GET"}[5m]))'
                                            ' / sum(rate(fugatto_requests_total[5m]))'}]},
        {"id": 3, "type": "timeseries", "title": "broken", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 4},
         "targets": [{"refId": "A", "expr": "sum(rate(x[5m]) by"}]},
        {"id": 4, "type": "heatmap", "title": "buckets", "gridPos": {"x": 0, "y": 4, "w": 24, "h": 4},
         "targets": [{"refId": "A", "expr": "sum by (method) (rate(fugatto_requests_total[5m]))"}]},
    ]}
    preview = render_dashboard(dashboard, tmp_path / "d.png", Source(prometheus, float(T0 + SPAN), 3000.0))
    stat, gauge, broken, heatmap = (preview.panels[i] for i in (1, 2, 3, 4))
    assert stat.drawn == "stat" and math.isclose(stat.series[0].values[-1], 0.7)
    assert gauge.drawn == "gauge" and math.isclose(gauge.series[0].values[-1], 0.2 / 0.7)
    assert broken.errors and "parse error" in broken.errors[0] and not broken.series
    assert heatmap.drawn == "heatmap" and len(heatmap.series) == 2
