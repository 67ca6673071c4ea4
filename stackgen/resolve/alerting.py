"""Alertmanager references that field types cannot check: time interval and template names, file-only secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from stackgen.diagnostics import Diagnostic
from stackgen.model.deploy import secrets_of
from stackgen.model.routing import walk_routes
from stackgen.parsers.am_template import DEFAULT_TEMPLATES, called, defined
from stackgen.spec.load import Path_, Positions
from stackgen.spec.models import Spec


def strings_of(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """Every string inside a spec model with its path (YAML keys, as the loader locates them)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from strings_of(getattr(value, name), (*path, field.alias or name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strings_of(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_of(item, (*path, key))


def check_alerting(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    am, base = spec.alertmanager, ("alertmanager",)
    # Alertmanager reads credentials from files only; an env reference would silently never resolve.
    for path, ref in secrets_of(am, base):
        if ref.file is None:
            yield positions.problem(path, "Alertmanager reads secrets from files only: use {file: /path}")
    intervals: dict[str, int] = {}
    for i, interval in enumerate(am.time_intervals):
        if interval.name in intervals:
            yield positions.problem((*base, "time_intervals", i, "name"),
                                    f"duplicate time interval name {interval.name!r} "
                                    f"(first at time_intervals[{intervals[interval.name]}])")
        intervals.setdefault(interval.name, i)
    for route, path in walk_routes(am.route, (*base, "route")):
        for key in ("mute_time_intervals", "active_time_intervals"):
            for j, name in enumerate(getattr(route, key, [])):
                if name not in intervals:
                    yield positions.problem((*path, key, j), f"time interval {name!r} is not defined "
                                                             f"(time_intervals: {', '.join(intervals) or 'none'})")
    yield from _check_templates(spec, positions)


def _check_templates(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    am, base = spec.alertmanager, ("alertmanager",)
    files: dict[str, int] = {}
    names: dict[str, str] = {}  # defined template -> the file defining it
    for i, template in enumerate(am.templates):
        if template.name in files:
            yield positions.problem((*base, "templates", i, "name"), f"duplicate template file {template.name!r}")
        files.setdefault(template.name, i)
        for name in defined(template.text):  # the model validated that it parses
            if name in names or name in DEFAULT_TEMPLATES:
                where = f"templates {names[name]!r}" if name in names else "Alertmanager's default templates"
                yield positions.problem((*base, "templates", i, "text"),
                                        f"template {name!r} is already defined by {where}: Alertmanager would "
                                        "silently use one of the two")
            names.setdefault(name, template.name)
    known = set(names) | DEFAULT_TEMPLATES
    texts = [*strings_of(am.receivers, (*base, "receivers")),
             *(((*base, "templates", i, "text"), t.text) for i, t in enumerate(am.templates))]
    for path, text in texts:
        if "{{" not in text:
            continue
        try:
            calls = called(text)
        except ValueError as exc:
            yield positions.problem(path, f"notification template does not parse: {exc}")
            continue
        for name in calls:
            if name not in known:
                yield positions.problem(path, f"calls template {name!r}, which no template defines "
                                              f"(defined: {', '.join(sorted(names)) or 'none'}; and Alertmanager's "
                                              "defaults such as slack.default.title)")
