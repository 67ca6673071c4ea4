"""Routing: where each alert (and each severity of each service's team) is delivered before and after,
with stackgen's own prediction of Alertmanager's tree walk (the one the generated routing tests,
checked by amtool, are made from); the route tree and receivers that changed; routes and receivers no
alert reaches; inhibitions added or removed and the alerts they silence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stackgen.model.routing import entered_routes
from stackgen.resolve import Stack
from stackgen.review.report import ADDED, CHANGED, REMOVED, WARNING, Change, Entry, difference, field_changes, listed
from stackgen.review.values import model_values, show
from stackgen.spec.alertmanager import InhibitRule, Receiver, RootRoute, Route
from stackgen.targets.alertmanager.routing_tests import cases

Case = dict[str, Any]


def compare(base: Stack, head: Stack, several: bool) -> list[Entry]:
    before, after = _cases(base), _cases(head)
    out = list(_deliveries(before, after))
    out += _routes(base, head, before, after)
    out += _receivers(base, head, after)
    out += _inhibitions(base, head, before, after, several)
    return out


def _cases(stack: Stack) -> dict[tuple[str, str], Case]:
    """(service, alert name or severity) -> the routing test case: its labels and predicted receivers."""
    out = {}
    for case in cases(stack):
        service, _, what = case["name"].partition(" ")
        out[(service, what)] = case
    return out


def _subject(case: Case, what: str) -> str:
    return what if "alertname" in case["labels"] else f"any {what} alert"


def _deliveries(before: dict[tuple[str, str], Case], after: dict[tuple[str, str], Case]) -> Iterator[Entry]:
    """Receivers per label set; a label set that went away is reported by the alerts section."""
    for key, case in after.items():
        receivers = ", ".join(case["receivers"])
        old = before.get(key)
        if old is None:
            yield Entry(ADDED, _subject(case, key[1]), key[0], (Change("receivers", after=receivers),))
        elif old["receivers"] != case["receivers"]:
            yield Entry(CHANGED, _subject(case, key[1]), key[0],
                        (Change("receivers", ", ".join(old["receivers"]), receivers),))


# -- the tree ----------------------------------------------------------------------------------------
def _tree(root: RootRoute) -> dict[str, tuple[Route | RootRoute, tuple[int, ...]]]:
    """Every route by a name a reviewer recognises, the matchers from the root down (`severity="critical"`,
    `team="ml" > severity="critical"`), with its position as child indexes from the root."""
    out: dict[str, tuple[Route | RootRoute, tuple[int, ...]]] = {"root route": (root, ())}

    def visit(route: Route | RootRoute, chain: tuple[str, ...], at: tuple[int, ...]) -> None:
        for i, child in enumerate(route.routes):
            link = ", ".join(child.matchers) or "(every alert)"
            name = "route " + " > ".join((*chain, link))
            taken, n = name, 1
            while taken in out:  # two siblings with the same matchers (continue: true)
                n += 1
                taken = f"{name} #{n}"
            out[taken] = (child, (*at, i))
            visit(child, (*chain, link), (*at, i))

    visit(root, (), ())
    return out


def _unreached(stack: Stack, found: dict[tuple[str, str], Case]) -> tuple[set[str], set[str]]:
    """(routes, receivers) that no label set of the spec reaches."""
    root = stack.spec.alertmanager.route
    entered: set[tuple[int, ...]] = set()
    reached: set[str] = set()
    for case in found.values():
        entered |= entered_routes(root, case["labels"])
        reached |= set(case["receivers"])
    routes = {name for name, (_, at) in _tree(root).items() if at not in entered}
    receivers = {r.name for r in stack.spec.alertmanager.receivers if r.name not in reached}
    return routes, receivers


def _route_values(route: Route | RootRoute, only_set: bool = False) -> dict[str, str]:
    """A route's settings; `only_set`: the receiver and what the spec sets (a new route's line)."""
    out = model_values(route, skip=("routes", "matchers"))
    if route.receiver is None:
        out["receiver"] = "inherited"
    if only_set:
        written = {info.alias or name for name, info in type(route).model_fields.items() if name in route.model_fields_set}
        out = {k: v for k, v in out.items() if k == "receiver" or k in written}
    return out


def _routes(base: Stack, head: Stack, before: dict[tuple[str, str], Case],
            after: dict[tuple[str, str], Case]) -> Iterator[Entry]:
    old, new = _tree(base.spec.alertmanager.route), _tree(head.spec.alertmanager.route)
    for name in old.keys() - new.keys():
        yield Entry(REMOVED, name, fields=(Change("receiver", before=_route_values(old[name][0])["receiver"]),))
    for name in new.keys() - old.keys():
        yield Entry(ADDED, name, fields=listed(_route_values(new[name][0], only_set=True)))
    for name in new.keys() & old.keys():
        if fields := field_changes(_route_values(old[name][0]), _route_values(new[name][0])):
            yield Entry(CHANGED, name, fields=fields)
    old_routes, old_receivers = _unreached(base, before)
    routes, receivers = _unreached(head, after)
    labels = "no alert of the spec, and no severity of any service's team, reaches it"
    for name in routes:
        yield Entry(WARNING, name, message=labels + (" (so already before)" if name in old_routes else ""))
    for name in receivers:
        yield Entry(WARNING, f"receiver {name}",
                    message=labels + (" (so already before)" if name in old_receivers else ""))


# -- receivers -----------------------------------------------------------------------------------------
def _integrations(receiver: Receiver) -> dict[str, str]:
    """Where a receiver sends, per integration: addresses, channels, URLs (credential files are not shown)."""
    out = {
        "email": show([c.to for c in receiver.email]),
        "slack": show([c.channel for c in receiver.slack]),
        "webhook": show([str(c.url) for c in receiver.webhook]),
        "pagerduty": f"{len(receiver.pagerduty)} integration key(s)" if receiver.pagerduty else "none",
    }
    return {k: v for k, v in out.items() if v != "none"}


def _receivers(base: Stack, head: Stack, after: dict[tuple[str, str], Case]) -> Iterator[Entry]:
    old = {r.name: r for r in base.spec.alertmanager.receivers}
    new = {r.name: r for r in head.spec.alertmanager.receivers}
    for name in old.keys() - new.keys():
        yield Entry(REMOVED, f"receiver {name}", fields=listed(_integrations(old[name]), removed=True))
    for name in new.keys() - old.keys():
        yield Entry(ADDED, f"receiver {name}", fields=listed(_integrations(new[name])))
    for name in new.keys() & old.keys():
        a, b = old[name], new[name]
        fields = field_changes(_integrations(a), _integrations(b))
        edited = [kind for kind in ("email", "slack", "webhook", "pagerduty")
                  if getattr(a, kind) != getattr(b, kind) and kind not in {f.field for f in fields}]
        if fields or edited:
            notes = (f"settings changed: {', '.join(edited)}",) if edited else ()
            yield Entry(CHANGED, f"receiver {name}", fields=fields, notes=notes)


# -- inhibitions ---------------------------------------------------------------------------------------
def _name(rule: InhibitRule) -> str:
    text = f"inhibition {', '.join(rule.source_matchers)} silences {', '.join(rule.target_matchers)}"
    return text + (f" with equal {', '.join(rule.equal)}" if rule.equal else "")


def _matches(matchers: list, labels: dict[str, str]) -> bool:
    return all(m.matches(labels.get(m.label, "")) for m in matchers)


def _effect(rule: InhibitRule, found: dict[tuple[str, str], Case], several: bool) -> dict[str, list[str]]:
    """Which alerts the rule can silence, and which alerts silence them. Labels the expression adds
    (instance, ...) are not known here: they count as equal, as they may be."""
    alerts = [(key, case["labels"]) for key, case in found.items() if "alertname" in case["labels"]]

    def name(key: tuple[str, str]) -> str:
        return f"{key[1]} ({key[0]})" if several else key[1]

    sources = [(k, labels) for k, labels in alerts if _matches(rule.source_matchers, labels)]
    silenced, silencing = set(), set()
    for key, labels in alerts:
        if not _matches(rule.target_matchers, labels):
            continue
        both = _matches(rule.source_matchers, labels)
        for source_key, source in sources:
            if source_key == key or (both and _matches(rule.target_matchers, source)):
                continue  # Alertmanager: an alert matching both sides is not silenced by another such alert
            if all(source.get(label, "") == labels.get(label, "") for label in rule.equal):
                silenced.add(name(key))
                silencing.add(name(source_key))
    return {"silences": sorted(silenced), "when firing": sorted(silencing)}


def _shown(effect: dict[str, list[str]]) -> dict[str, str]:
    return {k: show(v) for k, v in effect.items()}


def _inhibitions(base: Stack, head: Stack, before: dict[tuple[str, str], Case],
                 after: dict[tuple[str, str], Case], several: bool) -> Iterator[Entry]:
    old = {_name(r): r for r in base.spec.alertmanager.inhibit_rules}
    new = {_name(r): r for r in head.spec.alertmanager.inhibit_rules}
    for name in old.keys() - new.keys():
        yield Entry(REMOVED, name, fields=listed(_shown(_effect(old[name], before, several)), removed=True))
    for name in new.keys() - old.keys():
        yield Entry(ADDED, name, fields=listed(_shown(_effect(new[name], after, several))))
    for name in new.keys() & old.keys():
        a, b = _effect(old[name], before, several), _effect(new[name], after, several)
        fields = [change for what in a for change in difference(what, a[what], b[what])]
        if fields:
            yield Entry(CHANGED, name, fields=tuple(fields))
