"""Rules that work but say more than they mean, or less: pint's checks, decided with the contract.

Regex matchers on plain strings or anchored by hand (Prometheus anchors every regex), `for` shorter than
the evaluation interval (the alert fires on its first evaluation anyway), two alerts with one expression and
one label set (every incident pages twice), and a `$labels.x` in an alert's text that the expression's
result does not carry (it renders empty).

Rule ids: promql-regex-plain (warning), promql-regex-anchored (warning), alert-for-below-eval-interval
(warning), rule-duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stackgen.diagnostics import WARNING, Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.parsers.promql_analysis import PromQLError, analyze
from stackgen.spec.types import Duration

_PLAIN = re.compile(r"^[A-Za-z0-9_:/ @,-]+$")  # no character a regular expression gives a meaning


def check(ctx: Context) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], Expr] = {}
    for e in ctx.exprs:
        where = _expr_path(e)
        yield from _regexes(ctx, e, where)
        if e.kind != "alert":
            continue
        yield from _for(ctx, e)
        key = (e.service.name, " ".join(e.expr.split()), tuple(sorted(e.rule.get("labels", {}).items())))
        if (first := seen.get(key)) is not None:
            yield ctx.finding("rule-duplicate", e.spec_path,
                              f"alert {e.rule['alert']} has the same expression and labels as alert "
                              f"{first.rule['alert']}: every incident notifies twice",
                              "delete one, or tell them apart (a threshold, a severity)")
        else:
            seen[key] = e


def _expr_path(e: Expr):
    p = e.spec_path
    if p is not None and len(p) == 4 and p[2] == "alerts" and e.service.alerts[p[3]].kind == "raw":
        return (*p, "expr")
    return p


def _regexes(ctx: Context, e: Expr, where) -> Iterator[Diagnostic]:
    try:
        selectors = analyze(e.expr).selectors
    except PromQLError:
        return  # promql-parse reports it
    for sel in selectors:
        for m in sel.matchers:
            if m.op not in ("=~", "!~"):
                continue
            shown = f'{m.label}{m.op}"{m.value}"'
            if _PLAIN.match(m.value):
                plain = "=" if m.op == "=~" else "!="
                yield ctx.finding("promql-regex-plain", where,
                                  f"{e.what} matches {shown} with a regular expression that is a plain string",
                                  f'write {m.label}{plain}"{m.value}": an equality says so and costs less', WARNING)
            elif m.value.startswith("^") or (m.value.endswith("$") and not m.value.endswith("\\$")):
                bare = m.value.removeprefix("^").removesuffix("$")
                yield ctx.finding("promql-regex-anchored", where,
                                  f"{e.what} anchors the regular expression {shown}: Prometheus anchors every "
                                  f"regular expression already",
                                  f'write {m.label}{m.op}"{bare}"', WARNING)


def _for(ctx: Context, e: Expr) -> Iterator[Diagnostic]:
    raw = e.rule.get("for")
    if not raw:
        return
    pending = Duration.parse(str(raw))
    interval = ctx.spec.prometheus.evaluation_interval
    if 0 < pending < interval:
        yield ctx.finding("alert-for-below-eval-interval", (*e.spec_path, "for") if e.spec_path else None,
                          f"alert {e.rule['alert']} waits for: {pending}, shorter than the evaluation interval "
                          f"({interval}): it fires on the second evaluation, {interval} later, anyway",
                          f"set for to 0s or at least {interval}", WARNING, file=e.file)
