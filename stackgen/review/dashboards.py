"""Dashboards: panels added, removed and changed, by title, in each generated dashboard.

Panels are read from the rendered dashboards rather than from the spec: most of what a dashboard shows
is derived (the default panels from the contract, the log panel, the SLO and overview dashboards), and
the render is the one place that knows all of it. Only what a viewer sees is compared (the kind of
panel, unit, queries and legends, description, size); panel ids are not, so renumbering is no change,
and a panel that only moved is listed once per dashboard rather than as a change of its own. A panel
whose title changed in place (same position, same type) is one change, not a removal and an addition.
"""

from __future__ import annotations

import json
from typing import Any

from stackgen.review.report import ADDED, CHANGED, REMOVED, Change, Entry, field_changes, listed
from stackgen.review.sides import Side
from stackgen.review.values import show

DASHBOARDS = "grafana/dashboards/"


def dashboards_of(side: Side) -> dict[str, dict[str, Any]]:
    return {a.path: json.loads(a.content) for a in side.artifacts
            if a.path.startswith(DASHBOARDS) and a.path.endswith(".json")}


def _panels(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Panels by title (rows' panels included); a repeated title gets ` #2`."""
    out: dict[str, dict[str, Any]] = {}
    flat = []
    for panel in board.get("panels", []):
        flat.append(panel)
        flat += panel.get("panels", [])
    for panel in flat:
        title, n = str(panel.get("title", "")), 1
        name = title
        while name in out:
            n += 1
            name = f"{title} #{n}"
        out[name] = panel
    return out


def _values(panel: dict[str, Any]) -> dict[str, str]:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    grid = panel.get("gridPos", {})
    out = {"type": str(panel.get("type", "")), "unit": show(defaults.get("unit"))}
    for target in panel.get("targets", []):
        ref = target.get("refId", "?")
        query = target.get("expr", target.get("query"))
        out[f"query {ref}"] = " ".join(str(query).split()) if query is not None else "none"
        if target.get("legendFormat"):
            out[f"legend {ref}"] = str(target["legendFormat"])
    if panel.get("description"):
        out["description"] = str(panel["description"])
    out["size"] = f"{grid.get('w', '?')}x{grid.get('h', '?')}"
    for bound in ("min", "max"):
        if defaults.get(bound) is not None:
            out[bound] = show(defaults[bound])
    return out


def _position(panel: dict[str, Any]) -> tuple[Any, Any]:
    grid = panel.get("gridPos", {})
    return grid.get("x"), grid.get("y")


def _renamed(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> tuple[dict[str, str], set[str]]:
    """Panels whose title changed but which kept their place: a removed and an added panel at the same
    grid position and of the same type (an SLO's panels are titled by its objective). Returns
    {old title: new title} and the new titles."""
    removed = {(_position(old[n]), old[n].get("type")): n for n in old.keys() - new.keys()}
    pairs = {}
    for name in sorted(new.keys() - old.keys()):
        match = removed.pop((_position(new[name]), new[name].get("type")), None)
        if match is not None:
            pairs[match] = name
    return pairs, set(pairs.values())


def compare(base: Side, head: Side) -> list[Entry]:
    before, after = dashboards_of(base), dashboards_of(head)
    out: list[Entry] = []
    for path in before.keys() - after.keys():
        out.append(Entry(REMOVED, f"dashboard {before[path].get('title', path)}",
                         fields=(Change("panels", before=str(len(_panels(before[path])))),)))
    for path in after.keys() - before.keys():
        out.append(Entry(ADDED, f"dashboard {after[path].get('title', path)}",
                         fields=(Change("panels", after=str(len(_panels(after[path])))),)))
    for path in before.keys() & after.keys():
        title = str(after[path].get("title", path))
        old, new = _panels(before[path]), _panels(after[path])
        if before[path].get("title") != after[path].get("title"):
            out.append(Entry(CHANGED, f"dashboard {title}",
                             fields=(Change("title", str(before[path].get("title")), title),)))
        gone, came = _renamed(old, new)
        for name in sorted(old.keys() - new.keys() - gone.keys()):
            out.append(Entry(REMOVED, f"{title} / {name}", fields=listed({"type": _values(old[name])["type"]}, True)))
        for name in sorted(new.keys() - old.keys() - came):
            values = _values(new[name])
            queries = sum(1 for k in values if k.startswith("query "))
            out.append(Entry(ADDED, f"{title} / {name}", fields=listed(
                {"type": values["type"], "unit": values["unit"], "queries": str(queries)})))
        for old_name, new_name in sorted(gone.items()):
            fields = (Change("title", old_name, new_name), *field_changes(_values(old[old_name]), _values(new[new_name])))
            out.append(Entry(CHANGED, f"{title} / {new_name}", fields=fields))
        moved = []
        for name in sorted(old.keys() & new.keys()):
            if fields := field_changes(_values(old[name]), _values(new[name])):
                out.append(Entry(CHANGED, f"{title} / {name}", fields=fields))
            if _position(old[name]) != _position(new[name]):
                moved.append(name)
        if moved:
            out.append(Entry(CHANGED, f"dashboard {title}", fields=(Change("panels moved", after=", ".join(moved)),)))
    return out
