"""Panel ids from the panel's identity: inserting a panel changes that panel's lines plus the positions of
panels that really move, never another panel's id (issue 21: one inserted panel was +248/-42 lines)."""

from __future__ import annotations

import json

import pytest

from stackgen.checks.grafana import check_dashboard
from stackgen.model import names
from stackgen.parsers.promql_analysis import BUILTIN_SERIES
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets.grafana.dashboards import layout
from stackgen.targets.grafana.panel_ids import ID_SPACE, assign_ids, panel_identities, panel_ids, preferred_id

SERVICE = "fugatto-audio-lab"
DASHBOARD = names.dashboard_file(SERVICE)
NEW = "Queue Depth Now"


def _render(path) -> dict:
    return json.loads({a.path: a.content for a in render_stack(load_stack(path))}[DASHBOARD])


def _boards(write_spec, width: int, at: int = 2) -> tuple[dict, dict]:
    """The operations dashboard before and after inserting a stat panel of `width` at position `at`."""
    panel = {"title": NEW, "kind": "stat", "metric": "fugatto_queue_depth", "function": "value", "width": width}
    before = _render(write_spec(lambda d: None))
    after = _render(write_spec(lambda d: d["services"][0]["dashboards"]["panels"].insert(at, panel)))
    return before, after


def _by_title(board: dict) -> dict[str, dict]:
    return {p["title"]: p for p in board["panels"]}


def _moved(before: dict, after: dict, new: str) -> list[str]:
    """Asserts the insertion's footprint and returns the titles of the panels that moved."""
    old, now = _by_title(before), _by_title(after)
    assert set(now) - set(old) == {new} and set(old) <= set(now)
    order = [p["title"] for p in before["panels"]]
    at = [p["title"] for p in after["panels"]].index(new)
    moved = []
    for i, title in enumerate(order):
        a, b = old[title], now[title]
        assert a["id"] == b["id"], f"{title!r} was renumbered"
        assert {k: v for k, v in a.items() if k != "gridPos"} == {k: v for k, v in b.items() if k != "gridPos"}
        if a["gridPos"] != b["gridPos"]:
            assert i >= at, f"{title!r}, before the inserted panel, moved"
            moved.append(title)
    # the rest of the dashboard is untouched
    assert {k: v for k, v in before.items() if k != "panels"} == {k: v for k, v in after.items() if k != "panels"}
    return moved


def test_inserting_a_panel_renumbers_nothing_and_moves_only_later_panels(write_spec):
    before, after = _boards(write_spec, 6)
    moved = _moved(before, after, NEW)
    # a 6-wide panel fits next to nothing that follows it on that row: the flow pushes everything after
    # it down a row; each of those panels really moves on screen (the layout says so), none other does
    assert moved == [p["title"] for p in before["panels"]][2:]
    new = _by_title(after)[NEW]
    assert new["gridPos"] == {"x": 0, "y": 8, "w": 6, "h": 8}
    assert new["id"] == panel_ids(after["uid"], [p["title"] for p in after["panels"]])[2]


def test_a_full_width_panel_at_a_row_break_shifts_later_panels_down_by_its_height_only(write_spec):
    before, after = _boards(write_spec, 24)
    moved = _moved(before, after, NEW)
    old, now = _by_title(before), _by_title(after)
    for title in moved:
        a, b = old[title]["gridPos"], now[title]["gridPos"]
        assert (b["x"], b["w"], b["h"], b["y"] - a["y"]) == (a["x"], a["w"], a["h"], 8)


def test_inserting_at_the_end_moves_nothing_but_the_logs_panel_below(write_spec, stack):
    count = len(stack.spec.services[0].dashboards.panels)
    before, after = _boards(write_spec, 24, at=count)
    assert _moved(before, after, NEW) == ["Error log lines"]


def test_inserting_the_panel_keeps_the_dashboard_valid(write_spec, stack):
    _, after = _boards(write_spec, 6)
    service = stack.spec.services[0]
    known = ({s for m in service.metrics for s in m.series_names()} | {r.record for r in service.recording_rules}
             | BUILTIN_SERIES)
    assert check_dashboard(after, known, {names.PROMETHEUS_DATASOURCE_UID, names.ELASTICSEARCH_DATASOURCE_UID}) == []


def test_every_generated_dashboard_numbers_its_panels_from_their_titles(artifacts):
    boards = [json.loads(text) for path, text in sorted(artifacts.items())
              if path.startswith(names.GRAFANA_DASHBOARDS_DIR) and path.endswith(".json")]
    assert len(boards) == 3  # operations, SLOs, overview
    for board in boards:
        titles = [p["title"] for p in board["panels"]]
        ids = [p["id"] for p in board["panels"]]
        assert ids == panel_ids(board["uid"], titles)
        assert len(set(ids)) == len(ids) and all(1 <= i <= ID_SPACE for i in ids)


def test_layout_of_the_panels_before_an_insert_does_not_change(stack):
    panels = list(stack.spec.services[0].dashboards.panels)
    grid = layout(panels)
    for at in range(len(panels) + 1):
        extra = panels[0].model_copy(update={"title": "new", "width": 7})
        assert layout([*panels[:at], extra, *panels[at:]])[:at] == grid[:at]


# --- the id assignment itself -------------------------------------------------------------------------

def test_ids_are_deterministic_small_and_independent_of_order():
    titles = ["Request Rate", "Response Time", "GPU Memory"]
    ids = panel_ids("svc", titles)
    assert ids == [preferred_id(i) for i in panel_identities("svc", titles)]
    assert panel_ids("svc", list(reversed(titles))) == list(reversed(ids))
    inserted = panel_ids("svc", titles[:1] + ["Inserted"] + titles[1:])
    assert inserted[:1] + inserted[2:] == ids
    assert panel_ids("other", titles) != ids  # the dashboard is part of the identity
    assert all(1 <= i <= ID_SPACE for i in ids)


def test_repeated_titles_get_distinct_ids_and_no_title_imitates_a_repeat():
    identities = panel_identities("svc", ["A", "A", 'A", 2'])
    assert len(set(identities)) == 3
    ids = panel_ids("svc", ["A", "A", "B"])
    assert len(set(ids)) == 3 and ids[0] == panel_ids("svc", ["A"])[0]


def test_collision_goes_to_the_smallest_identity_and_the_other_probes_upward():
    # forced: both prefer 7; "a" sorts first and keeps it, "b" takes the next free id
    assert assign_ids(["b", "a"], {"a": 7, "b": 7}) == [8, 7]
    # the probe skips ids other panels prefer, so a loser never displaces a winner
    assert assign_ids(["b", "a", "c"], {"a": 7, "b": 7, "c": 8}) == [9, 7, 8]
    # and wraps past the top of the space
    assert assign_ids(["a", "b"], {"a": ID_SPACE, "b": ID_SPACE}) == [ID_SPACE, 1]


def test_a_colliding_insert_displaces_an_existing_panel_only_if_it_sorts_first():
    existing = {"m": 7, "x": 100}
    assert assign_ids(["m", "x"], existing) == [7, 100]
    assert assign_ids(["m", "z", "x"], {**existing, "z": 7}) == [7, 8, 100]  # sorts after: m keeps 7
    assert assign_ids(["m", "a", "x"], {**existing, "a": 7}) == [8, 7, 100]  # sorts first: documented cost


def test_duplicate_identities_are_refused():
    with pytest.raises(ValueError, match="unique"):
        assign_ids(["a", "a"])
