"""Every alert of the render (typed, raw and SLO tiers) is actionable and reaches someone on purpose.

Rule ids: alert-unrouted-severity, alert-summary, alert-description-untemplated, alert-runbook,
alert-name-case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context, Expr

_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def check(ctx: Context) -> Iterator[Diagnostic]:
    for e in ctx.exprs:
        if e.kind == "alert":
            yield from _check_alert(ctx, e)


def _field(e: Expr, name: str):
    """Spec path of one of the alert's fields (an SLO tier's fields live under `alerting`)."""
    return None if e.spec_path is None else (*e.spec_path, name)


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
        yield ctx.finding("alert-unrouted-severity", _field(e, "severity"),
                          f"alert {name} (severity {severity or 'missing'}) matches no route below the root, so it "
                          f"only reaches the default receiver {root!r} by accident",
                          f"add a route with matchers ['severity=\"{severity or '...'}\"'] to "
                          f"alertmanager.route.routes, or give the alert a routed severity", file=e.file)
    if not str(annotations.get("summary", "")).strip():
        yield ctx.finding("alert-summary", _field(e, "summary"), f"alert {name} has no summary annotation",
                          "write one plain sentence as `summary`", file=e.file)
    if "{{" not in str(annotations.get("description", "")):
        yield ctx.finding("alert-description-untemplated", _field(e, "description"),
                          f"alert {name}'s description is not templated, so every notification reads the same",
                          "say what is happening with {{ $value }} or {{ $labels.<label> }}", file=e.file)
    if not str(annotations.get("runbook_url", "")).strip():
        yield ctx.finding("alert-runbook", _field(e, "runbook_url"), f"alert {name} has no runbook_url",
                          "link the runbook the on-call follows: runbook_url: https://...", file=e.file)
    if not _CAMEL.match(name) or "_" in name:
        yield ctx.finding("alert-name-case", _field(e, "name"), f"alert name {name!r} is not CamelCase",
                          f"rename it, e.g. {_camel(name)!r}", file=e.file)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
