"""The generated dashboards to preview: the JSON files under <out>/grafana/dashboards, or a fresh in-memory render."""

from __future__ import annotations

import json
from pathlib import Path

DASHBOARDS_DIR = "grafana/dashboards"


class DashboardError(Exception):
    """A dashboard file that cannot be previewed, or a --dashboard uid that names none; one line."""


def parse(name: str, text: str) -> dict:
    try:
        dashboard = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DashboardError(f"{name}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(dashboard, dict) or not isinstance(dashboard.get("panels", []), list):
        raise DashboardError(f"{name}: not a Grafana dashboard (an object with a panels list)")
    return dashboard


def from_texts(files: dict[str, str], uids: list[str] | None = None) -> list[dict]:
    """The dashboards among `files` (name -> JSON text), sorted by name, only those whose uid is in `uids` if given."""
    dashboards = [parse(name, files[name]) for name in sorted(files)]
    if uids:
        known = {str(d.get("uid")) for d in dashboards}
        missing = [uid for uid in uids if uid not in known]
        if missing:
            raise DashboardError(f"--dashboard {missing[0]}: no generated dashboard has this uid "
                                 f"(there are: {', '.join(sorted(known))})")
        dashboards = [d for d in dashboards if str(d.get("uid")) in uids]
    return dashboards


def load_dashboards(out: Path, uids: list[str] | None = None) -> list[dict]:
    folder = out / DASHBOARDS_DIR
    if not folder.is_dir():
        raise DashboardError(f"{folder}: no generated dashboards here (run `stackgen render` first)")
    return from_texts({p.as_posix(): p.read_text(encoding="utf-8") for p in folder.glob("*.json")}, uids)
