"""The Alertmanager tree is consistent: receivers used and defined, inhibitions compare real labels.

Rule ids: route-unknown-receiver, receiver-unused, inhibit-equal-missing, inhibit-no-match, inhibit-cycle.
"""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import ERROR, WARNING, Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.model.routing import walk_routes
from stackgen.spec.load import Path_


def check(ctx: Context) -> Iterator[Diagnostic]:
    am = ctx.spec.alertmanager
    defined = {r.name for r in am.receivers}
    used = {am.route.receiver}
    root_path: Path_ = ("alertmanager", "route")
    for route, path in walk_routes(am.route, root_path):
        if route.receiver is None:
            continue
        used.add(route.receiver)
        if route.receiver not in defined:
            yield ctx.finding("route-unknown-receiver", (*path, "receiver"),
                              f"route sends to receiver {route.receiver!r}, which is not defined",
                              f"define it under alertmanager.receivers or use one of {', '.join(sorted(defined))}")
    for i, receiver in enumerate(am.receivers):
        if receiver.name not in used:
            yield ctx.finding("receiver-unused", ("alertmanager", "receivers", i, "name"),
                              f"receiver {receiver.name!r} is not used by any route",
                              "route alerts to it (alertmanager.route.routes[].receiver) or delete it")
    yield from _inhibitions(ctx)
    yield from _cycles(ctx)


def _inhibitions(ctx: Context) -> Iterator[Diagnostic]:
    alerts = [e for e in ctx.exprs if e.kind == "alert"]
    for r, inhibit in enumerate(ctx.spec.alertmanager.inhibit_rules):
        base: Path_ = ("alertmanager", "inhibit_rules", r)
        for side, matchers in (("source", inhibit.source_matchers), ("target", inhibit.target_matchers)):
            matched = [e for e in alerts if _matches(e, matchers)]
            where = (*base, f"{side}_matchers")
            if not matched:
                yield ctx.finding("inhibit-no-match", where,
                                  f"no alert matches the inhibition's {side} matchers "
                                  f"({', '.join(map(str, matchers))}), so it never applies",
                                  "match the labels of existing alerts, or delete the inhibition", WARNING)
                continue
            for k, label in enumerate(inhibit.equal):
                for e in matched:
                    if label in e.rule.get("labels", {}):
                        continue  # a static label: present whatever the expression returns
                    labels = ctx.alert_labels(e)
                    if labels is None:
                        yield ctx.finding("inhibit-equal-missing", (*base, "equal", k),
                                          f"cannot tell whether {side} alert {e.rule['alert']} carries label "
                                          f"{label!r} (its expression's result labels are not knowable)",
                                          f"aggregate the alert's expression by ({label}) or set it as a static "
                                          f"label", WARNING)
                    elif label not in labels:
                        yield ctx.finding("inhibit-equal-missing", (*base, "equal", k),
                                          f"equal label {label!r} is missing on {side} alert {e.rule['alert']} "
                                          f"(its labels: {', '.join(sorted(labels))}); Alertmanager treats a "
                                          f"missing label as equal to an empty one",
                                          f"keep {label!r} in the alert's aggregation or add it as a static label, "
                                          f"or compare on a label every matched alert carries")


def _matches(e: Expr, matchers) -> bool:
    labels = {**e.rule.get("labels", {}), "alertname": e.rule["alert"]}
    return all(m.matches(labels.get(m.label, "")) for m in matchers)


def _cycles(ctx: Context) -> Iterator[Diagnostic]:
    """Alerts that silence each other through inhibitions: when all of them fire, all are silenced and nobody
    is notified. An alert matching both sides of one rule is not silenced by another such alert
    (Alertmanager's own exception), so one rule alone makes no cycle."""
    alerts = [e for e in ctx.exprs if e.kind == "alert"]
    edges: dict[int, list[tuple[int, int]]] = {}  # alert index -> (silenced alert index, rule index)
    for r, inhibit in enumerate(ctx.spec.alertmanager.inhibit_rules):
        sources = {a for a, e in enumerate(alerts) if _matches(e, inhibit.source_matchers)}
        targets = {a for a, e in enumerate(alerts) if _matches(e, inhibit.target_matchers)}
        for a in sorted(sources):
            edges.setdefault(a, []).extend((b, r) for b in sorted(targets) if b != a
                                           and not (a in targets and b in sources))
    reported: set[frozenset[int]] = set()
    for start in sorted(edges):
        cycle = _path_back(edges, start)
        if cycle is None or (rules := frozenset(r for _, _, r in cycle)) in reported or len(rules) < 2:
            continue
        reported.add(rules)
        steps = "; ".join(f"{alerts[a].rule['alert']} silences {alerts[b].rule['alert']} (inhibit_rules[{r}])"
                          for a, b, r in cycle)
        yield ctx.finding("inhibit-cycle", ("alertmanager", "inhibit_rules", min(rules)),
                          f"inhibitions form a cycle: {steps}; when all fire, all are silenced and nobody is notified",
                          "drop one direction: inhibit the less severe alert by the more severe one only", ERROR)


def _path_back(edges: dict[int, list[tuple[int, int]]], start: int) -> list[tuple[int, int, int]] | None:
    """The shortest chain of (silencer, silenced, rule) from `start` back to itself, if any."""
    queue: list[tuple[int, list[tuple[int, int, int]]]] = [(start, [])]
    seen = {start}
    while queue:
        node, chain = queue.pop(0)
        for nxt, r in edges.get(node, []):
            if nxt == start:
                return [*chain, (node, nxt, r)]
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, [*chain, (node, nxt, r)]))
    return None
