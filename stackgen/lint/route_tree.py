"""The route tree decided with the real alert set: which routes an alert of the spec enters (stackgen's own
prediction of Alertmanager's walk, model.routing, the one amtool verifies), so a route no alert reaches, one
an earlier sibling always takes, a `continue` that changes nothing are facts, not guesses.

Rule ids: route-repeat-below-group-interval (warning), route-group-wait-over-interval (warning),
route-shadowed, route-unreachable (warning), route-overlap (warning), route-useless-continue (warning),
route-always-muted, route-group-by-unknown-label (warning), alert-drops-group-by-label (warning),
receiver-no-integrations (warning).

Environments change only which receiver a route delivers to (`environments[].routes`): an override that
points a route at a receiver with no integrations is reported at the override.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stackgen.diagnostics import WARNING, Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.model.routing import entered_routes, walk_routes
from stackgen.parsers.promql_analysis import PromQLError, analyze
from stackgen.spec.alertmanager import RootRoute, Route
from stackgen.spec.load import Path_, format_path
from stackgen.spec.time_intervals import MONTHS, WEEKDAYS, TimePeriod

ROOT: Path_ = ("alertmanager", "route")


@dataclass(frozen=True)
class Node:
    route: RootRoute | Route
    path: Path_
    at: tuple[int, ...]  # child indexes from the root


def check(ctx: Context) -> Iterator[Diagnostic]:
    nodes = [Node(route, path, tuple(p for p in path[2:] if isinstance(p, int)))
             for route, path in walk_routes(ctx.spec.alertmanager.route, ROOT)]
    alerts = [e for e in ctx.exprs if e.kind == "alert"]
    entered = {id(e): entered_routes(ctx.spec.alertmanager.route, routing_labels(e)) for e in alerts}
    yield from _timings(ctx, ctx.spec.alertmanager.route, ROOT, {})
    shadowed = set()
    for node in nodes:
        for finding, at in _shadowed(ctx, node):
            shadowed.add(at)
            yield finding
    overlapped = list(_overlaps(ctx, nodes, alerts, entered, shadowed))
    yield from (finding for finding, _ in overlapped)
    yield from _unreachable(ctx, nodes, entered, shadowed | {at for _, at in overlapped})
    yield from _continues(ctx, nodes, alerts, entered)
    yield from _muted(ctx, nodes)
    yield from _group_by(ctx, nodes, alerts, entered)
    yield from _dropped_group_by(ctx, nodes, alerts, entered)
    yield from _receivers(ctx)


def routing_labels(e: Expr) -> dict[str, str]:
    """The labels Alertmanager routes an alert on that are known before it fires: static ones and its name."""
    return {**e.rule.get("labels", {}), "alertname": e.rule["alert"]}


def _where(path: Path_) -> str:
    return "the root route" if path == ROOT else format_path(path).removeprefix("alertmanager.route.")


# -- timings -------------------------------------------------------------------------------------------
def _timings(ctx: Context, route: RootRoute | Route, path: Path_,
             inherited: dict[str, tuple[int, Path_]]) -> Iterator[Diagnostic]:
    """Effective group_wait/group_interval/repeat_interval, each with the route that sets it; a finding at the
    route that sets one of the two values compared (a route that inherits both was judged at its parent)."""
    own = {k: (getattr(route, k), path) for k in ("group_wait", "group_interval", "repeat_interval")
           if getattr(route, k) is not None}
    eff = {**inherited, **own}

    def shown(key: str) -> str:
        value, src = eff[key]
        return f"{key} ({value}" + (f", inherited from {_where(src)})" if src != path else ")")

    def at(*keys: str) -> Path_ | None:
        key = next((k for k in keys if k in own), None)
        return None if key is None else (*path, key)

    (repeat, _), (interval, _), (wait, _) = eff["repeat_interval"], eff["group_interval"], eff["group_wait"]
    if repeat < interval and (where := at("repeat_interval", "group_interval")):
        yield ctx.finding("route-repeat-below-group-interval", where,
                          f"{shown('repeat_interval')} is shorter than {shown('group_interval')}: "
                          f"a still-firing group is re-sent only every {interval}",
                          f"set repeat_interval to at least {interval}, or shorten group_interval", WARNING)
    if wait > interval and (where := at("group_wait", "group_interval")):
        yield ctx.finding("route-group-wait-over-interval", where,
                          f"{shown('group_wait')} is longer than {shown('group_interval')}: a new group's first "
                          f"notification waits longer than every later update",
                          f"set group_wait to at most {interval} (the first notification should be the quickest)",
                          WARNING)
    for i, child in enumerate(route.routes):
        yield from _timings(ctx, child, (*path, "routes", i), eff)


# -- reachability ----------------------------------------------------------------------------------------
def _shadowed(ctx: Context, node: Node) -> Iterator[tuple[Diagnostic, tuple[int, ...]]]:
    """A route after a sibling without `continue` whose matchers are a subset of its own: every alert it could
    match, the sibling takes first."""
    for j, later in enumerate(node.route.routes):
        for i, earlier in enumerate(node.route.routes[:j]):
            if earlier.continue_ or not set(earlier.matchers) <= set(later.matchers):
                continue
            what = f"matchers {', '.join(earlier.matchers)}" if earlier.matchers else "no matchers"
            path = (*node.path, "routes", j)
            yield ctx.finding("route-shadowed", (*path, "matchers") if later.matchers else path,
                              f"route is shadowed by routes[{i}] ({what}, no continue), which takes every alert "
                              f"this route matches: it never receives one",
                              f"move it before routes[{i}], or set continue: true on routes[{i}]"), (*node.at, j)
            break


def _unreachable(ctx: Context, nodes: list[Node], entered: dict[int, set[tuple[int, ...]]],
                 shadowed: set[tuple[int, ...]]) -> Iterator[Diagnostic]:
    reached = set().union(*entered.values()) if entered else set()
    for node in nodes:
        if node.at in reached or node.at in shadowed or node.at[:-1] not in reached:
            continue  # below a route nobody reaches: that route is the finding
        route = node.route
        yield ctx.finding("route-unreachable", (*node.path, "matchers") if getattr(route, "matchers", None) else node.path,
                          f"no alert of the spec reaches this route ({', '.join(route.matchers) or 'no matchers'}): "
                          f"its receiver {route.receiver or '(inherited)'} gets nothing from it",
                          "match labels the alerts carry (severity, service, team, alertname), or delete the route",
                          WARNING)


def _overlaps(ctx: Context, nodes: list[Node], alerts: list[Expr], entered: dict[int, set[tuple[int, ...]]],
              shadowed: set[tuple[int, ...]]) -> Iterator[tuple[Diagnostic, tuple[int, ...]]]:
    """Alerts that match a route but are taken by an earlier sibling without `continue` (with the route's
    position: if no other alert reaches it, this is why, and route-unreachable does not repeat it)."""
    for node in nodes:
        lost: dict[tuple[int, int], list[str]] = {}
        for e in alerts:
            if node.at not in entered[id(e)]:
                continue
            labels = routing_labels(e)
            matching = [i for i, child in enumerate(node.route.routes)
                        if all(m.matches(labels.get(m.label, "")) for m in child.matchers)]
            for first, later in zip(matching, matching[1:], strict=False):
                if node.route.routes[first].continue_:
                    continue
                if (*node.at, later) not in shadowed:
                    lost.setdefault((first, later), []).append(e.rule["alert"])
                break
        for (first, later), names in sorted(lost.items()):
            path = (*node.path, "routes", later)
            yield ctx.finding("route-overlap", (*path, "matchers"),
                              f"alert{'s' if len(names) > 1 else ''} {', '.join(sorted(set(names)))} also match"
                              f"{'' if len(names) > 1 else 'es'} this route, but routes[{first}] (no continue) "
                              f"takes {'them' if len(names) > 1 else 'it'} first",
                              f"set continue: true on routes[{first}] if both should notify, or make the matchers "
                              f"exclusive", WARNING), (*node.at, later)


def _continues(ctx: Context, nodes: list[Node], alerts: list[Expr],
               entered: dict[int, set[tuple[int, ...]]]) -> Iterator[Diagnostic]:
    for node in nodes:
        siblings = node.route.routes
        for i, child in enumerate(siblings):
            if not child.continue_:
                continue
            path = (*node.path, "routes", i, "continue")
            if i == len(siblings) - 1:
                yield ctx.finding("route-useless-continue", path,
                                  "continue: true on the last route of its level changes nothing: no sibling follows",
                                  "delete continue", WARNING)
                continue
            reaching = [e for e in alerts if (*node.at, i) in entered[id(e)]]
            later = siblings[i + 1:]
            if reaching and not any(all(m.matches(routing_labels(e).get(m.label, "")) for m in s.matchers)
                                    for e in reaching for s in later):
                yield ctx.finding("route-useless-continue", path,
                                  f"continue: true changes nothing: no alert reaching this route "
                                  f"({', '.join(sorted({e.rule['alert'] for e in reaching}))}) matches a later sibling",
                                  "delete continue, or add the sibling route it was meant to reach", WARNING)


# -- time intervals --------------------------------------------------------------------------------------
def _covers(parts: list[str], count: int, index) -> bool:
    seen: set[int] = set()
    for part in parts:
        begin, _, end = part.partition(":")
        seen |= set(range(index(begin), index(end or begin) + 1))
    return seen >= set(range(count))


def _always(period: TimePeriod) -> bool:
    """Whether the period holds at every minute (every field it sets covers its whole range)."""
    minutes: set[int] = set()
    for t in period.times:
        (h1, m1), (h2, m2) = (map(int, t.start_time.split(":")), map(int, t.end_time.split(":")))
        minutes |= set(range(h1 * 60 + m1, h2 * 60 + m2))
    days = [d for d in period.days_of_month if not d.startswith("-")]  # counted back from the end: not judged
    return ((not period.times or minutes >= set(range(1440)))
            and (not period.weekdays or _covers(period.weekdays, 7, WEEKDAYS.index))
            and (not period.months or _covers(period.months, 12,
                                              lambda m: int(m) - 1 if m.isdigit() else MONTHS.index(m)))
            and (not period.days_of_month or (len(days) == len(period.days_of_month)
                                              and _covers(days, 31, lambda d: int(d) - 1)))
            and not period.years)


def _muted(ctx: Context, nodes: list[Node]) -> Iterator[Diagnostic]:
    intervals = {t.name: t for t in ctx.spec.alertmanager.time_intervals}
    for node in nodes:
        mutes = getattr(node.route, "mute_time_intervals", [])
        active = getattr(node.route, "active_time_intervals", [])
        for k, name in enumerate(mutes):
            interval = intervals.get(name)
            path = (*node.path, "mute_time_intervals", k)
            if interval is not None and any(_always(p) for p in interval.time_intervals):
                yield ctx.finding("route-always-muted", path,
                                  f"route is muted always: time interval {name!r} covers every minute",
                                  "narrow the interval (times, weekdays) or delete the route")
            elif name in active:
                yield ctx.finding("route-always-muted", path,
                                  f"route is muted always: {name!r} is both a mute and its only active interval"
                                  if len(active) == 1 else
                                  f"route is muted during its active interval {name!r}",
                                  "take the interval out of mute_time_intervals or active_time_intervals")


# -- grouping and receivers ------------------------------------------------------------------------------
def _group_by(ctx: Context, nodes: list[Node], alerts: list[Expr],
              entered: dict[int, set[tuple[int, ...]]]) -> Iterator[Diagnostic]:
    for node in nodes:
        group_by = node.route.group_by
        if not group_by or "..." in group_by:
            continue
        reaching = [e for e in alerts if node.at in entered[id(e)]]
        if not reaching:
            continue
        carried: set[str] = set()
        unknown = False
        for e in reaching:
            labels = ctx.alert_labels(e)
            if labels is None:
                unknown = True
            carried |= set(labels or ()) | set(routing_labels(e))
        for k, label in enumerate(group_by):
            if label not in carried and not unknown:
                yield ctx.finding("route-group-by-unknown-label", (*node.path, "group_by", k),
                                  f"group_by label {label!r} is carried by none of the {len(reaching)} alerts this "
                                  f"route receives, so it groups nothing apart",
                                  f"group by a label they carry ({', '.join(sorted(carried))}), or drop it", WARNING)


def _effective_group_by(nodes: list[Node]) -> dict[tuple[int, ...], list[str]]:
    """Each route's group_by as Alertmanager applies it: its own, else its parent's (nodes come parents first)."""
    out: dict[tuple[int, ...], list[str]] = {}
    for node in nodes:
        out[node.at] = list(node.route.group_by) if node.route.group_by else out.get(node.at[:-1], [])
    return out


def _dropped_group_by(ctx: Context, nodes: list[Node], alerts: list[Expr],
                      entered: dict[int, set[tuple[int, ...]]]) -> Iterator[Diagnostic]:
    """An alert whose aggregation drops a label that the route delivering it groups by: the series it reads
    carry the label, the alert does not, so its notifications all fall into the group where the label is
    empty, merged with every other alert of the route that lacks it. A label the series never had (`up`
    has no `model`) is no loss, and one no alert of the route carries is route-group-by-unknown-label's."""
    group_by = _effective_group_by(nodes)
    for e in alerts:
        labels, read = ctx.alert_labels(e), _input_labels(ctx, e)
        if labels is None or read is None or e.spec_path is None:
            continue
        delivered = [at for at in entered[id(e)] if not any(o[:len(at)] == at and o != at for o in entered[id(e)])]
        for at in sorted(delivered):
            dropped = [label for label in group_by.get(at, []) if label in read and label not in labels]
            if dropped:
                route = "".join(f".routes[{i}]" for i in at).removeprefix(".") or "the root route"
                them = "it" if len(dropped) == 1 else "them"
                yield ctx.finding(
                    "alert-drops-group-by-label", e.spec_path,
                    f"{e.what} is delivered by {route}, which groups by {', '.join(map(repr, dropped))}; the alert's "
                    f"series carry {them} but its aggregation drops {them}, so all its notifications share one group",
                    f"keep {', '.join(dropped)} in the aggregation (sum by (..., {dropped[0]})) or, for an SLO, "
                    f"`by: [{dropped[0]}]`; or group that route by labels the alert keeps", WARNING)


def _input_labels(ctx: Context, e: Expr) -> frozenset[str] | None:
    """Every label the series an expression selects can carry; None when one selector's is unknowable."""
    try:
        selectors = analyze(e.expr).selectors
    except PromQLError:
        return None
    found = [ctx.labels_of(e.service)(sel) for sel in selectors]
    return None if any(f is None for f in found) else frozenset().union(*found)


def _receivers(ctx: Context) -> Iterator[Diagnostic]:
    silent = {r.name for r in ctx.spec.alertmanager.receivers
              if not any(getattr(r, name) for name in type(r).model_fields if name != "name")}
    for k, env in enumerate(ctx.spec.environments):
        for j, change in enumerate(env.routes):
            if change.receiver in silent:
                yield ctx.finding("receiver-no-integrations", ("environments", k, "routes", j, "receiver"),
                                  f"environment {env.name!r} routes [{', '.join(change.matchers)}] to receiver "
                                  f"{change.receiver!r}, which has no integrations: its alerts notify nobody there",
                                  "route to a receiver with an integration in this environment", WARNING)
    for i, receiver in enumerate(ctx.spec.alertmanager.receivers):
        if receiver.name in silent:
            yield ctx.finding("receiver-no-integrations", ("alertmanager", "receivers", i, "name"),
                              f"receiver {receiver.name!r} has no integrations: alerts routed to it notify nobody",
                              "add one (email, slack, webhook, pagerduty, ...); a deliberate sink says so with "
                              "# stackgen: ignore[receiver-no-integrations]", WARNING)
