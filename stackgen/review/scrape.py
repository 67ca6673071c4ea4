"""Scrape: the global intervals and each scrape job's target, path, effective interval and labels, read
from the prometheus.yml the target builds (so defaults and derived job names are the real ones)."""

from __future__ import annotations

from typing import Any

from stackgen.resolve import Stack
from stackgen.review.report import ADDED, CHANGED, REMOVED, Entry, field_changes, listed
from stackgen.review.values import show
from stackgen.targets.prometheus.config import server_config


def _jobs(stack: Stack) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    config = server_config(stack.spec)
    glob = {k: show(v) for k, v in config["global"].items()}
    jobs: dict[str, dict[str, str]] = {}
    for job in config["scrape_configs"]:
        statics: list[dict[str, Any]] = job.get("static_configs", [])
        jobs[job["job_name"]] = {
            "targets": show([t for s in statics for t in s.get("targets", [])]),
            "metrics_path": job.get("metrics_path", "/metrics"),
            "interval": job.get("scrape_interval", glob["scrape_interval"]),
            "labels": show({k: v for s in statics for k, v in sorted(s.get("labels", {}).items())}),
        }
    return glob, jobs


def compare(base: Stack, head: Stack) -> list[Entry]:
    (old_global, old), (new_global, new) = _jobs(base), _jobs(head)
    out = []
    if fields := field_changes(old_global, new_global):
        out.append(Entry(CHANGED, "global", fields=fields))
    out += [Entry(REMOVED, f"job {name}", fields=listed({"targets": old[name]["targets"]}, True))
            for name in old.keys() - new.keys()]
    out += [Entry(ADDED, f"job {name}", fields=listed(new[name])) for name in new.keys() - old.keys()]
    for name in old.keys() & new.keys():
        if fields := field_changes(old[name], new[name]):
            out.append(Entry(CHANGED, f"job {name}", fields=fields))
    return out
