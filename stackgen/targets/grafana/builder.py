"""The one module that knows grafanalib: DashboardModel -> Grafana dashboard JSON (as plain data).

grafanalib gives typed panel objects and one encoder; it also emits keys from Grafana's legacy
row/graph era and an old schemaVersion. We pin schemaVersion to the Grafana we deploy and drop the
legacy keys, so swapping the builder means rewriting this module only.
"""

from __future__ import annotations

import json
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from stackgen.model import names
from stackgen.targets.grafana.dashboards import DashboardModel, PanelModel

_LEGACY_DASHBOARD_KEYS = ("rows", "style", "hideControls", "sharedCrosshair", "gnetId", "__inputs", "id")
_LEGACY_PANEL_KEYS = (
    "span",
    "minSpan",
    "height",
    "error",
    "cacheTimeout",
    "repeat",
    "repeatDirection",
    "maxPerRow",
    "hideTimeOverride",
    "timeFrom",
    "timeShift",
    "interval",
)
_LEGACY_TARGET_KEYS = ("query", "target", "metric", "step", "intervalFactor", "interval", "format", "hide")
_BASE_THRESHOLDS = [{"color": "green", "value": None}]


def _prometheus_ref() -> dict[str, str]:
    return {"type": "prometheus", "uid": f"${{{names.DATASOURCE_VARIABLE}}}"}


def _elasticsearch_ref() -> dict[str, str]:
    return {"type": "elasticsearch", "uid": names.ELASTICSEARCH_DATASOURCE_UID}


def _targets(panel: PanelModel) -> list[Any]:
    if panel.datasource == "elasticsearch":
        return [
            {
                "refId": q.ref_id,
                "datasource": _elasticsearch_ref(),
                "query": q.expr,
                "queryType": "lucene",
                "metrics": [{"id": "1", "type": "logs"}],
                "bucketAggs": [],
                "timeField": "@timestamp",
            }
            for q in panel.queries
        ]
    return [
        g.Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=q.ref_id,
            datasource=_prometheus_ref(),
            instant=panel.display in ("stat", "gauge"),
        )
        for q in panel.queries
    ]


def _overrides(panel: PanelModel) -> list[dict[str, Any]]:
    return [
        {
            "matcher": {"id": "byFrameRefID", "options": q.ref_id},
            "properties": [{"id": "unit", "value": q.unit}],
        }
        for q in panel.queries
        if q.unit
    ]


def _thresholds(panel: PanelModel) -> list[dict[str, Any]]:
    """Grafana threshold steps: the first step is the base (value null: everything below the next step),
    so the model's lowest threshold gives the base its color."""
    if not panel.thresholds:
        return list(_BASE_THRESHOLDS)
    (_, base), *rest = sorted(panel.thresholds)
    return [{"color": base, "value": None}, *({"color": c, "value": v} for v, c in rest)]


def _panel(panel: PanelModel) -> Any:
    x, y, w, h = panel.grid
    common: dict[str, Any] = {
        "id": panel.id,
        "title": panel.title,
        "description": panel.description,
        "gridPos": g.GridPos(x=x, y=y, w=w, h=h),
        "targets": _targets(panel),
        "links": [{"title": t, "url": u, "targetBlank": True} for t, u in panel.links],
        "thresholds": _thresholds(panel),
    }
    if panel.display == "logs":
        return g.Logs(
            dataSource=_elasticsearch_ref(),
            showTime=True,
            wrapLogMessages=True,
            enableLogDetails=True,
            **common,
        )
    if panel.display == "heatmap":
        return _heatmap(panel, common)
    if panel.display == "stat":
        return g.Stat(
            dataSource=_prometheus_ref(),
            format=panel.unit,
            reduceCalc="lastNotNull",
            graphMode="area",
            colorMode="value",
            overrides=_overrides(panel),
            **common,
        )
    if panel.display == "gauge":
        extra = {
            "fieldConfig": {
                "defaults": {"unit": panel.unit, "min": panel.min, "max": panel.max},
                "overrides": _overrides(panel),
            },
            "options": {
                "orientation": "auto",
                "showThresholdLabels": False,
                "showThresholdMarkers": True,
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            },
        }
        return g.GaugePanel(dataSource=_prometheus_ref(), format=panel.unit, extraJson=extra, **common)
    return g.TimeSeries(
        dataSource=_prometheus_ref(),
        unit=panel.unit,
        legendDisplayMode="list",
        tooltipMode="multi",
        thresholdsStyleMode="dashed" if panel.thresholds else "off",
        overrides=_overrides(panel),
        **common,
    )


def _heatmap(panel: PanelModel, common: dict[str, Any]) -> dict[str, Any]:
    """Grafana's heatmap panel over pre-bucketed Prometheus histograms (grafanalib only knows the
    legacy heatmap options). The `heatmap` target format orders the `le` series into buckets."""
    x, y, w, h = panel.grid
    return {
        **{k: v for k, v in common.items() if k != "thresholds"},  # grafanalib's argument, not a JSON key
        "type": "heatmap",
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "datasource": _prometheus_ref(),
        "maxDataPoints": 60,
        "fieldConfig": {"defaults": {"custom": {"scaleDistribution": {"type": "linear"}}}, "overrides": []},
        "options": {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential", "exponent": 0.5,
                      "steps": 64, "reverse": False},
            "yAxis": {"axisPlacement": "left", "unit": panel.unit},
            "rowsFrame": {"layout": "le"},
            "tooltip": {"mode": "single", "yHistogram": True},
            "legend": {"show": True},
            "filterValues": {"le": 1e-9},
        },
    }


def _variables(model: DashboardModel) -> list[dict[str, Any]]:
    datasource = {
        "name": names.DATASOURCE_VARIABLE,
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {"text": "Prometheus", "value": names.PROMETHEUS_DATASOURCE_UID},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }
    query = f'label_values(up{{job="{model.job}"}}, instance)'
    instance = {
        "name": names.INSTANCE_VARIABLE,
        "label": "Instance",
        "type": "query",
        "datasource": _prometheus_ref(),
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "current": {"text": "All", "value": "$__all"},
        "hide": 0,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    }
    out = [datasource, instance] if model.instance_variable else [datasource]
    for variable in model.label_variables:
        values = f"label_values({variable.series}, {variable.label})"
        out.append({**instance, "name": variable.name, "label": variable.label,
                    "query": {"query": values, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                    "definition": values})
    return out


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    for key in _LEGACY_DASHBOARD_KEYS:
        data.pop(key, None)
    for panel in data["panels"]:
        for key in _LEGACY_PANEL_KEYS:
            panel.pop(key, None)
        if panel["type"] == "gauge":
            for key in ("calcs", "override", "values", "limit", "title", "links", "decimals", "mappings"):
                panel["fieldConfig"]["defaults"].pop(key, None)
            for key in ("showThresholdLabels", "showThresholdMarkers"):
                panel["fieldConfig"].pop(key, None)
        panel["pluginVersion"] = names.GRAFANA_VERSION
        for target in panel["targets"]:
            if panel["datasource"]["type"] != "prometheus":
                continue  # an Elasticsearch target's `query` is its Lucene, not a legacy key
            for key in _LEGACY_TARGET_KEYS:
                target.pop(key, None)
            target["range"] = not target["instant"]
            target["editorMode"] = "code"
            if panel["type"] == "heatmap":
                target["format"] = "heatmap"
    return data


def build(model: DashboardModel) -> dict[str, Any]:
    dashboard = g.Dashboard(
        title=model.title,
        uid=model.uid,
        tags=list(model.tags),
        panels=[_panel(p) for p in model.panels],
        links=[
            *(
                g.DashboardLink(type="link", title=t, uri=u, targetBlank=False, keepTime=True, icon="dashboard")
                for t, u in model.dashboard_links
            ),
            *(
                g.DashboardLink(type="link", title=t, uri=u, targetBlank=True, keepTime=False, icon="doc")
                for t, u in model.links
            ),
        ],
        refresh=model.refresh,
        time=g.Time(model.time_from, "now"),
        timezone="utc",
        schemaVersion=names.GRAFANA_SCHEMA_VERSION,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        editable=False,
        description=f"Generated by stackgen for job {model.job}",
    )
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    data["templating"] = {"list": _variables(model)}
    return _clean(data)
