"""The review's link to backtesting (stackgen.review.backtest): a case for every added or changed alert
whose expression or `for` changed, old and new, at its rule group's evaluation interval, and the
results as the report's Backtest section.

The expressions are the rule files' (the base thresholds): an environment's override is deployed by
its overlay, and a Prometheus URL names no environment.
"""

from __future__ import annotations

import importlib
from typing import Any

from stackgen.model.promql import service_alert_expr
from stackgen.resolve import Stack
from stackgen.review.report import RESULT, WARNING, Change, Entry
from stackgen.review.values import seconds


def _rules(stack: Stack, several: bool) -> dict[tuple[str, str], tuple[str, str, float]]:
    """(service, alert) -> (display name, expression, for in seconds), SLO tiers included."""
    out = {}
    for service in stack.spec.services:
        def name(alert: str) -> str:
            return f"{alert} ({service.name})" if several else alert  # noqa: B023 - used at once

        for alert in service.alerts:
            out[(service.name, alert.name)] = (name(alert.name), service_alert_expr(service, alert),
                                               alert.for_.seconds)
        for group in stack.slos_of(service):
            for tier in group.tiers:
                out[(service.name, tier.alert)] = (name(tier.alert), tier.expr, tier.for_.seconds)
    return out


def cases(base: Stack, head: Stack, several: bool) -> list[Any]:
    """A BacktestCase per alert that is new, or whose expression or `for` changed, in report order."""
    from stackgen.review.backtest import BacktestCase

    before, after = _rules(base, several), _rules(head, several)
    interval = head.spec.prometheus.evaluation_interval.seconds  # the groups set no interval of their own
    out = []
    for key in sorted(after):
        name, expr, for_s = after[key]
        old = before.get(key)
        if old is not None and old[1:] == (expr, for_s):
            continue
        old_for = old[2] if old is not None and old[2] != for_s else None
        out.append(BacktestCase(name=name, old_expr=old[1] if old else None, new_expr=expr,
                                for_s=for_s, interval_s=interval, old_for_s=old_for))
    return out


def section(url: str, base: Stack, head: Stack, several: bool, range_s: float) -> list[Entry]:
    """The Backtest section: per alert, episodes before → after and the backtest's findings."""
    try:
        backtest = importlib.import_module("stackgen.review.backtest")
    except ImportError as exc:
        return [Entry(WARNING, "backtest", message=f"backtesting is not available: {exc}")]
    found = cases(base, head, several)
    if not found:
        return []
    out = []
    for result in backtest.backtest(url, found, range_s):
        fields = []
        for label, attr, show in (("fired", "count", str), ("firing time", "firing_s", seconds),
                                  ("longest episode", "longest_s", seconds)):
            old = None if result.before is None else show(getattr(result.before, attr))
            new = None if result.after is None else show(getattr(result.after, attr))
            if old is not None or new is not None:
                fields.append(Change(label, old, new))
        out.append(Entry(RESULT, result.name, fields=tuple(fields), notes=tuple(result.findings)))
    return out
