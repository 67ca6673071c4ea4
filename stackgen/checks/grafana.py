"""Generated Grafana dashboards (operations, SLO and the stack overview): PromQL parses, metrics resolve,
ids positive and unique, grid sane, datasources exist, links between dashboards lead somewhere.

Reads the rendered files (not the spec's panels), so it also catches a hand edit or a builder bug.
A metric resolves when it is a series of the owning service's contract, a builtin series (`up`), or a
recording rule found in the generated rule files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from stackgen.checks import fast_yaml
from stackgen.checks.tools import find_python_library
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.parsers.promql_analysis import BUILTIN_SERIES, PromQLError, selected_metrics
from stackgen.resolve import Stack

CHECK = "grafana"
_VARIABLE = re.compile(r"^\$\{?(\w+)\}?$")


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    find_python_library("promql_parser", "promql-parser")  # the parser's verdicts: recorded for the check cache
    findings: list[Diagnostic] = []
    provisioned = _provisioned_uids(root, findings)
    recording = _recording_rules(root)
    uids = _dashboard_uids(root)
    every_series = {s for service in stack.spec.services for m in service.metrics for s in m.series_names()}
    # The overview reads every service's series, so any service's contract resolves its metrics.
    boards = [([names.OVERVIEW_DASHBOARD_FILE], every_series | BUILTIN_SERIES | recording)]
    for service in stack.spec.services:
        files = [names.dashboard_file(service.name)] if service.dashboards.enabled else []
        if stack.has_slo_dashboard(service):
            files.append(names.slo_dashboard_file(service.name))
        boards.append((files, {s for m in service.metrics for s in m.series_names()} | BUILTIN_SERIES | recording))
    for files, known in boards:
        for file in files:
            path = root / file
            if not path.exists():
                findings.append(Diagnostic(file, rule=CHECK, message="dashboard missing"))
                continue
            try:
                dashboard = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                findings.append(Diagnostic(file, rule=CHECK, message=f"not JSON: {exc}"))
                continue
            messages = check_dashboard(dashboard, known, provisioned) + check_links(dashboard, uids)
            findings += [Diagnostic(file, rule=CHECK, message=message) for message in messages]
    return findings


def check_links(dashboard: dict[str, Any], uids: set[str]) -> list[str]:
    """A dashboard link of the form /d/<uid> must lead to a generated dashboard."""
    problems = []
    for link in dashboard.get("links", []):
        url = link.get("url") or ""
        if url.startswith("/d/") and url.removeprefix("/d/").split("/")[0].split("?")[0] not in uids:
            problems.append(f"link {link.get('title')!r}: {url} is not a generated dashboard "
                            f"(uids: {', '.join(sorted(uids))})")
    return problems


def _dashboard_uids(root: Path) -> set[str]:
    out = set()
    for path in sorted((root / names.GRAFANA_DASHBOARDS_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue  # reported as "not JSON" for the dashboard itself
        if isinstance(data, dict) and isinstance(data.get("uid"), str):
            out.add(data["uid"])
    return out


def check_dashboard(dashboard: dict[str, Any], known_metrics: set[str], provisioned: set[str]) -> list[str]:
    """Problems of one dashboard, each naming the panel (id and title)."""
    problems: list[str] = []
    if dashboard.get("schemaVersion") != names.GRAFANA_SCHEMA_VERSION:
        problems.append(
            f"schemaVersion is {dashboard.get('schemaVersion')}, Grafana {names.GRAFANA_VERSION} "
            f"writes {names.GRAFANA_SCHEMA_VERSION}"
        )
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    panels = dashboard.get("panels", [])
    seen: dict[Any, str] = {}
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in panels:
        label = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("type") in ("graph", "singlestat"):
            problems.append(f"{label}: legacy panel type {panel['type']!r}; use timeseries or stat")
        pid = panel.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1:
            # Grafana keys panel state and viewPanel links by it; ids need not be sequential (panel_ids)
            problems.append(f"{label}: panel id must be a positive integer")
        elif pid in seen:
            problems.append(f"{label}: duplicate panel id {pid} (also {seen[pid]})")
        else:
            seen[pid] = label
        grid = panel.get("gridPos") or {}
        x, y, w, h = (grid.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)):
            problems.append(f"{label}: gridPos needs integer x, y, w and h")
        elif x < 0 or y < 0 or w < 1 or h < 1 or x + w > 24:
            problems.append(f"{label}: gridPos x={x} w={w} does not fit Grafana's 24 columns")
        else:
            for other, ox, oy, ow, oh in boxes:
                if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                    problems.append(
                        f"{label} overlaps {other} (gridPos x={x} y={y} w={w} h={h} "
                        f"and x={ox} y={oy} w={ow} h={oh})"
                    )
            boxes.append((label, x, y, w, h))
        problems += _datasources(label, panel, variables, provisioned)
        for target in panel.get("targets", []):
            if _datasource_type(target.get("datasource") or panel.get("datasource")) != "prometheus":
                continue
            where = f"{label} query {target.get('refId')}"
            try:
                metrics = selected_metrics(target.get("expr", ""))
            except PromQLError as exc:
                problems.append(f"{where}: not valid PromQL: {exc}")
                continue
            problems += [
                f"{where}: metric {m!r} is neither in the service's metric contract nor a generated "
                f"recording rule"
                for m in metrics
                if m not in known_metrics
            ]
    for name, variable in variables.items():
        if variable.get("datasource"):
            problems += _datasources(
                f"variable {name!r}", {"datasource": variable["datasource"]}, variables, provisioned
            )
    return problems


def _datasource_type(ref: Any) -> str | None:
    return ref.get("type") if isinstance(ref, dict) else None


def _datasources(
    label: str, panel: dict[str, Any], variables: dict[str, Any], provisioned: set[str]
) -> list[str]:
    refs = [panel.get("datasource"), *[t.get("datasource") for t in panel.get("targets", [])]]
    problems = []
    for ref in refs:
        if not isinstance(ref, dict) or "uid" not in ref:
            continue
        uid = ref["uid"]
        if match := _VARIABLE.match(uid):
            variable = variables.get(match.group(1))
            if variable is None or variable.get("type") != "datasource":
                problems.append(f"{label}: datasource {uid} is not a datasource variable of the dashboard")
                continue
            uid = (variable.get("current") or {}).get("value")
        if uid not in provisioned:
            problems.append(
                f"{label}: datasource uid {uid!r} is not provisioned "
                f"(provisioned: {', '.join(sorted(provisioned))})"
            )
    return sorted(set(problems))


def _provisioned_uids(root: Path, findings: list[Diagnostic]) -> set[str]:
    path = root / names.GRAFANA_DATASOURCES_FILE
    try:
        data = fast_yaml.load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        findings.append(Diagnostic(names.GRAFANA_DATASOURCES_FILE, rule=CHECK, message=f"cannot read datasources: {exc}"))
        return set()
    return {d["uid"] for d in data.get("datasources", []) if isinstance(d, dict) and "uid" in d}


def _recording_rules(root: Path) -> set[str]:
    """Every `record:` name in the generated Prometheus rule files (SLO and other recording rules)."""
    out: set[str] = set()
    for path in sorted((root / "prometheus" / "rules").glob("*.yml")):
        try:
            data = fast_yaml.load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue  # promtool reports broken rule files
        for group in data.get("groups", []) or []:
            out |= {
                r["record"] for r in group.get("rules", []) or [] if isinstance(r, dict) and "record" in r
            }
    return out
