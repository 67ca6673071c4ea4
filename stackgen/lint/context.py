"""What every rule family reads: the stack, its fresh render parsed once, and where things came from.

Every PromQL expression the render produces (alert and recording rules of every rule file, dashboard
panel targets) is collected as an `Expr` that remembers its service and the spec path it came from,
so a finding in generated output still points at the line of stack.yaml to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from stackgen.diagnostics import ERROR, Diagnostic
from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.parsers.promql_analysis import PromQLError, SelectorInfo, analyze
from stackgen.resolve import Stack
from stackgen.spec.load import SAFE_LOADER, Path_
from stackgen.spec.service import Metric, Service


@dataclass(frozen=True)
class Expr:
    """One PromQL expression of the render."""

    expr: str
    service: Service
    file: str  # generated/ path
    what: str  # "alert HighErrorRate", "recording rule slo:... (group g)", "panel 'Request Rate'"
    spec_path: Path_ | None  # where in the spec it comes from (None: generated without a spec origin)
    kind: str  # "alert", "record" or "panel"
    rule: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # the rule, for rules


class Context:
    def __init__(self, stack: Stack, artifacts: list[Artifact], spec_dir: Path, out_name: str = "generated"):
        self.stack = stack
        self.out_name = out_name
        self.spec = stack.spec
        self.files = {a.path: a.content for a in artifacts}
        self.spec_dir = spec_dir

    # -- locations ------------------------------------------------------------------------------
    def finding(self, rule: str, path: Path_ | None, message: str, fix: str, severity: str = ERROR,
                file: str | None = None) -> Diagnostic:
        """A finding at the spec position of `path` when known, else at the generated file."""
        if path is not None and self.stack.positions is not None:
            located = self.stack.positions.problem(self.written_path(path), message)
            return replace(located, rule=rule, severity=severity, fix=fix)
        where = f"{self.out_name}/{file}" if file else self.stack.spec_name
        return Diagnostic(where, message=message, rule=rule, severity=severity, fix=fix)

    @cached_property
    def _spec_data(self) -> Any:
        return None if self.stack.positions is None else yaml.load(self.stack.positions.text, Loader=SAFE_LOADER)

    def written_path(self, path: Path_) -> Path_:
        """The deepest node of `path` that the spec file really has: a finding about a defaulted field
        (an SLO tier left out, a severity taken from the tier) points at where the user would write it."""
        node = self._spec_data
        for end, part in enumerate(path):
            if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
            elif isinstance(part, str) and isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return tuple(path[:end])
        return tuple(path)

    # -- parsed artifacts -----------------------------------------------------------------------
    def yaml(self, path: str) -> Any:
        text = self.files.get(path)
        return None if text is None else yaml.load(text, Loader=SAFE_LOADER)

    def yaml_documents(self, path: str) -> list[Any]:
        text = self.files.get(path)
        return [] if text is None else [d for d in yaml.load_all(text, Loader=SAFE_LOADER) if d is not None]

    def service_index(self, service: Service) -> int:
        return next(i for i, s in enumerate(self.spec.services) if s.name == service.name)

    @cached_property
    def exprs(self) -> list[Expr]:
        out: list[Expr] = []
        for service in self.spec.services:
            out += self._rule_exprs(service)
            out += self._panel_exprs(service)
        return out

    @cached_property
    def recorded(self) -> dict[str, list[dict[str, Any]]]:
        """Recording rule name -> the rules recording it, across every rule file of the render."""
        out: dict[str, list[dict[str, Any]]] = {}
        for e in self.exprs:
            if e.kind == "record":
                out.setdefault(e.rule["record"], []).append(e.rule)
        return out

    def _rule_exprs(self, service: Service) -> list[Expr]:
        i = self.service_index(service)
        out: list[Expr] = []
        for file in (names.alert_rules_file(service.name), names.slo_rules_file(service.name)):
            data = self.yaml(file) or {}
            for group in data.get("groups", []):
                slo_k = next((k for k, slo in enumerate(service.slos)
                              if names.slo_group(service.name, slo.name) == group["name"]), None)
                tiers = {t.alert: t.tier for g in self.stack.slos_of(service) if g.rule_group == group["name"]
                         for t in g.tiers}
                for rule in group.get("rules", []):
                    if "alert" in rule:
                        name = rule["alert"]
                        j = next((j for j, a in enumerate(service.alerts) if a.name == name), None)
                        if j is not None:
                            path: Path_ | None = ("services", i, "alerts", j)
                        elif slo_k is not None:
                            # the tier (page or ticket) holds the alert's name and severity
                            path = ("services", i, "slos", slo_k, "alerting", *([tiers[name]] if name in tiers else []))
                        else:
                            path = None
                        out.append(Expr(rule["expr"], service, file, f"alert {name}", path, "alert", rule))
                    else:
                        path = ("services", i, "slos", slo_k) if slo_k is not None else None
                        what = f"recording rule {rule['record']} (group {group['name']})"
                        out.append(Expr(rule["expr"], service, file, what, path, "record", rule))
        return out

    def _panel_exprs(self, service: Service) -> list[Expr]:
        file = names.dashboard_file(service.name)
        text = self.files.get(file)
        if text is None:
            return []
        i = self.service_index(service)
        spec_panels = service.dashboards.panels
        out: list[Expr] = []
        for panel in _panels(json.loads(text)):
            title = panel.get("title", "")
            k = next((k for k, p in enumerate(spec_panels) if p.title == title), None)
            base: Path_ | None = ("services", i, "dashboards", "panels", k) if k is not None else None
            for t, target in enumerate(panel.get("targets", [])):
                if not isinstance(target.get("expr"), str):
                    continue  # not a Prometheus query (logs panels query Elasticsearch)
                path = base
                if base is not None and getattr(spec_panels[k], "kind", "") == "promql":
                    path = (*base, "targets", t, "expr")
                out.append(Expr(target["expr"], service, file, f"panel {title!r} query {t + 1}", path, "panel"))
        return out

    # -- per-service facts ----------------------------------------------------------------------
    def scrape_interval_ms(self, service: Service) -> int:
        return int(service.scrape_interval or self.spec.prometheus.scrape_interval)

    def target_labels(self, service: Service) -> set[str]:
        """Labels every scraped series of the service carries besides its own (Prometheus adds them)."""
        return {"job", "instance", names.SERVICE_LABEL, names.TEAM_LABEL}

    def family_of(self, service: Service, series: str) -> Metric | None:
        """The contract metric a stored series belongs to (`x_bucket` -> histogram `x`)."""
        return next((m for m in service.metrics if series in m.series_names()), None)

    def labels_of(self, service: Service) -> Callable[[SelectorInfo], frozenset[str] | None]:
        """Which labels a selected series can carry; None when not knowable."""

        def labels(sel: SelectorInfo) -> frozenset[str] | None:
            name = sel.metric
            if name is None:
                return None
            if name in ("up", "scrape_duration_seconds", "scrape_samples_scraped"):
                return frozenset(self.target_labels(service))
            if name in self.recorded:
                out: set[str] = set()
                for rule in self.recorded[name]:
                    try:
                        result = analyze(rule["expr"], labels).result_labels
                    except PromQLError:
                        return None
                    if result is None:
                        return None
                    out |= set(result) | set(rule.get("labels", {}))
                return frozenset(out)
            metric = self.family_of(service, name)
            if metric is None:
                return None
            found = set(metric.labels) | self.target_labels(service)
            if name.endswith("_bucket") and metric.type == "histogram":
                found.add("le")
            if metric.type == "summary" and name == metric.name:
                found.add("quantile")
            return frozenset(found)

        return labels

    def alert_labels(self, e: Expr) -> frozenset[str] | None:
        """Every label a firing alert carries: its result labels, its static labels, alertname."""
        try:
            result = analyze(e.expr, self.labels_of(e.service)).result_labels
        except PromQLError:
            return None
        if result is None:
            return None
        return frozenset(result | set(e.rule.get("labels", {})) | {"alertname"})


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out += panel.get("panels", [])  # collapsed rows nest their panels
    return out
