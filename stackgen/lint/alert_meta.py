"""Every alert of the render (typed, raw and SLO tiers) is actionable and reaches someone on purpose.

Rule ids: alert-unrouted-severity, alert-summary, alert-description-untemplated, alert-runbook,
alert-name-case.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.spec.load import Path_

_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def check(ctx: Context) -> Iterator[Diagnostic]:
    for e in ctx.exprs:
        if e.kind == "alert":
            yield from _check_alert(ctx, e)


def _field(ctx: Context, e: Expr, name: str) -> Path_ | None:
    """Spec path of one of the alert's fields. An SLO alert's path is its tier (`alerting.page`): the tier
    holds its name and severity, `alerting` its texts, and a name the tier does not set comes from the SLO's."""
    path = e.spec_path
    if path is None or "alerting" not in path:
        return None if path is None else (*path, name)
    alerting = path[:path.index("alerting") + 1]
    tier_field = (*path, name) if len(path) > len(alerting) else None
    if name == "name":
        return tier_field if tier_field and ctx.written_path(tier_field) == tier_field else (*alerting[:-1], "name")
    if name == "severity" and tier_field:
        return tier_field
    return (*alerting, name)


def handled_by_route(ctx: Context, labels: dict[str, str]) -> bool:
    """True when some route below the root matches the labels: the alert is routed deliberately."""
    return any(all(m.matches(labels.get(m.label, "")) for m in child.matchers)
               for child in ctx.spec.alertmanager.route.routes)


def _check_alert(ctx: Context, e: Expr) -> Iterator[Diagnostic]:
    rule = e.rule
    name = rule["alert"]
    labels = {**rule.get("labels", {}), "alertname": name}
    annotations = rule.get("annotations", {})
    severity = labels.get("severity")
    if severity is None or not handled_by_route(ctx, labels):
        root = ctx.spec.alertmanager.route.receiver
        label = _routing_label(ctx)
        value = labels.get(label)
        where = _field(ctx, e, "severity") if label == "severity" else e.spec_path
        shown = f"severity {severity or 'missing'}"
        if label != "severity":
            shown = f"{label} {value or 'missing'}, {shown}"
        if value is None:
            fix = (f"give the alert a {label!r} label that a route below the root matches (the tree's routes "
                   f"match on {label!r})")
        else:
            fix = (f"add a route with matchers ['{label}={json.dumps(value)}'] to alertmanager.route.routes, "
                   f"or give the alert a routed {label}")
        yield ctx.finding("alert-unrouted-severity", where,
                          f"alert {name} ({shown}) matches no route below the root, so it only reaches the default "
                          f"receiver {root!r} by accident",
                          fix, file=e.file)
    if not str(annotations.get("summary", "")).strip():
        yield ctx.finding("alert-summary", _field(ctx, e, "summary"), f"alert {name} has no summary annotation",
                          "write one plain sentence as `summary`", file=e.file)
    if "{{" not in str(annotations.get("description", "")):
        yield ctx.finding("alert-description-untemplated", _field(ctx, e, "description"),
                          f"alert {name}'s description is not templated, so every notification reads the same",
                          "say what is happening with {{ $value }} or {{ $labels.<label> }}", file=e.file)
    if not str(annotations.get("runbook_url", "")).strip():
        yield ctx.finding("alert-runbook", _field(ctx, e, "runbook_url"), f"alert {name} has no runbook_url",
                          "link the runbook the on-call follows: runbook_url: https://...", file=e.file)
    if not _CAMEL.match(name) or "_" in name:
        yield ctx.finding("alert-name-case", _field(ctx, e, "name"), f"alert name {name!r} is not CamelCase",
                          f"rename it, e.g. {_camel(name)!r}", file=e.file)


def _routing_label(ctx: Context) -> str:
    """The label the root's routes split alerts by, so a suggested route looks like its siblings: the one
    most of them match on, never `alertname` (it names single alerts); `severity` when no other label is used."""
    counts: Counter[str] = Counter()
    for child in ctx.spec.alertmanager.route.routes:
        counts.update({m.label for m in child.matchers})
    ranked = [label for label, _ in counts.most_common() if label != "alertname"]
    return ranked[0] if ranked else "severity"


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
