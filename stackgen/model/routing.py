"""Alertmanager's routing algorithm, so stackgen can predict which receivers an alert reaches.

The prediction becomes generated routing tests that `amtool config routes test` verifies: if our
reading of the tree and Alertmanager's ever disagree, `stackgen check` fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.spec.alertmanager import RootRoute, Route
from stackgen.spec.load import Path_


def walk_routes(route: RootRoute | Route, path: Path_) -> Iterator[tuple[RootRoute | Route, Path_]]:
    """Every route of the tree, parent before children, with its path in the spec (for located messages)."""
    yield route, path
    for i, child in enumerate(route.routes):
        yield from walk_routes(child, (*path, "routes", i))


def matching_children(route: RootRoute | Route, labels: dict[str, str]) -> Iterator[tuple[int, Route]]:
    """The children (index, route) an alert with `labels` descends into: each that matches, in order,
    up to and including the first matching one without `continue`."""
    for i, child in enumerate(route.routes):
        if all(m.matches(labels.get(m.label, "")) for m in child.matchers):
            yield i, child
            if not child.continue_:
                return


def entered_routes(root: RootRoute, labels: dict[str, str]) -> set[tuple[int, ...]]:
    """Positions (child indexes from the root) of every route an alert with `labels` enters, the root's `()`
    included: what the review and lint call reached."""
    out: set[tuple[int, ...]] = {()}

    def visit(route: Route | RootRoute, at: tuple[int, ...]) -> None:
        for i, child in matching_children(route, labels):
            out.add((*at, i))
            visit(child, (*at, i))

    visit(root, ())
    return out


def receivers_for(root: RootRoute, labels: dict[str, str]) -> list[str]:
    """Receivers in the order Alertmanager notifies them (depth first, honouring `continue`)."""

    def visit(route: Route | RootRoute, inherited: str) -> list[str]:
        receiver = route.receiver or inherited
        reached: list[str] = []
        for _, child in matching_children(route, labels):
            reached += visit(child, receiver)
        return reached or [receiver]

    return visit(root, root.receiver)
