"""The routing rules decided with the real alert set: each tripped by a variant of stack.yaml, with a near miss."""

from __future__ import annotations

from .conftest import SPEC_TEXT, replace_once

ROUTES = "    routes:\n      - matchers: ['alertname=\"Watchdog\"']\n"
SERVICE_DOWN = "alertname=\"ServiceDown\""
CRITICAL = "      - matchers: ['severity=\"critical\"']\n        receiver: critical-alerts\n"


def line_of(text: str, snippet: str, nth: int = 1) -> int:
    """1-based line of the nth line of `text` containing `snippet`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if snippet in line]
    return hits[nth - 1]


def found(lint_text, text: str, rule: str) -> list[tuple[str, str, str]]:
    return [(where(f), f.severity, f.message) for f in lint_text(text) if f.rule == rule]


def where(f) -> str:
    """The location with the spec's temporary directory left out."""
    return "stack.yaml" + f.location().split("stack.yaml", 1)[1]


def test_repeat_interval_below_inherited_group_interval(lint_text):
    text = replace_once(SPEC_TEXT, "    group_interval: 10s\n    repeat_interval: 1h\n",
                        "    group_interval: 5m\n    repeat_interval: 1h\n")
    assert found(lint_text, text, "route-repeat-below-group-interval") == [
        (f"stack.yaml:{line_of(text, 'repeat_interval: 1m')}:9: alertmanager.route.routes[0].repeat_interval", "warning",
         "repeat_interval (1m) is shorter than group_interval (5m, inherited from the root route): "
         "a still-firing group is re-sent only every 5m")]
    near = replace_once(text, "        repeat_interval: 1m\n", "        repeat_interval: 1m\n        group_interval: 1m\n")
    assert found(lint_text, near, "route-repeat-below-group-interval") == []


def test_group_wait_longer_than_group_interval(lint_text):
    text = replace_once(SPEC_TEXT, "    group_wait: 10s\n", "    group_wait: 1m\n")
    assert found(lint_text, text, "route-group-wait-over-interval") == [
        (f"stack.yaml:{line_of(text, 'group_wait: 1m')}:5: alertmanager.route.group_wait", "warning",
         "group_wait (1m) is longer than group_interval (10s): a new group's first notification waits longer "
         "than every later update")]
    near = replace_once(SPEC_TEXT, "    group_wait: 10s\n", "    group_wait: 5s\n")
    assert found(lint_text, near, "route-group-wait-over-interval") == []


def test_route_shadowed_by_an_earlier_sibling(lint_text):
    extra = "      - matchers: ['severity=\"critical\"', 'team=\"audio-ml\"']\n        receiver: warning-alerts\n"
    text = replace_once(SPEC_TEXT, CRITICAL, CRITICAL + extra)
    assert found(lint_text, text, "route-shadowed") == [
        (f"stack.yaml:{line_of(text, 'team=')}:9: alertmanager.route.routes[2].matchers", "error",
         "route is shadowed by routes[1] (matchers severity=\"critical\", no continue), which takes every alert "
         "this route matches: it never receives one")]
    near = replace_once(SPEC_TEXT, CRITICAL, extra + CRITICAL)
    assert found(lint_text, near, "route-shadowed") == []
    near = replace_once(SPEC_TEXT, CRITICAL, CRITICAL + "        continue: true\n" + extra)
    assert found(lint_text, near, "route-shadowed") == []


def test_route_no_alert_reaches(lint_text):
    extra = "      - matchers: ['team=\"nobody\"']\n        receiver: critical-alerts\n"
    text = replace_once(SPEC_TEXT, CRITICAL, CRITICAL + extra)
    assert found(lint_text, text, "route-unreachable") == [
        (f"stack.yaml:{line_of(text, 'nobody')}:9: alertmanager.route.routes[2].matchers", "warning",
         "no alert of the spec reaches this route (team=\"nobody\"): its receiver critical-alerts gets nothing from it")]
    near = replace_once(SPEC_TEXT, CRITICAL, CRITICAL + extra.replace("nobody", "audio-ml")
                        .replace("critical-alerts\n", "critical-alerts\n        continue: true\n"))
    near = replace_once(near, ROUTES, "    routes:\n" + extra.replace("nobody", "audio-ml")
                        + "        continue: true\n" + ROUTES.removeprefix("    routes:\n"))
    assert found(lint_text, near, "route-unreachable") == []


def test_sibling_routes_matching_one_alert_without_continue(lint_text):
    extra = "      - matchers: ['alertname=\"ServiceDown\"']\n        receiver: warning-alerts\n"
    text = replace_once(SPEC_TEXT, CRITICAL, CRITICAL + extra)
    findings = lint_text(text)
    assert [(where(f), f.severity, f.message) for f in findings if f.rule == "route-overlap"] == [
        (f"stack.yaml:{line_of(text, SERVICE_DOWN)}:9: alertmanager.route.routes[2].matchers", "warning",
         "alert ServiceDown also matches this route, but routes[1] (no continue) takes it first")]
    assert not [f for f in findings if f.rule == "route-unreachable"]  # the overlap says why
    near = replace_once(text, CRITICAL, CRITICAL + "        continue: true\n")
    assert [f.rule for f in lint_text(near) if f.rule.startswith("route-")] == []


def test_continue_that_changes_nothing(lint_text):
    text = replace_once(SPEC_TEXT, "        receiver: deadmans-switch\n",
                        "        receiver: deadmans-switch\n        continue: true\n")
    assert found(lint_text, text, "route-useless-continue") == [
        (f"stack.yaml:{line_of(text, 'continue: true')}:9: alertmanager.route.routes[0].continue", "warning",
         "continue: true changes nothing: no alert reaching this route (Watchdog) matches a later sibling")]
    last = replace_once(SPEC_TEXT, "        receiver: warning-alerts\n",
                        "        receiver: warning-alerts\n        continue: true\n")
    assert found(lint_text, last, "route-useless-continue") == [
        (f"stack.yaml:{line_of(last, 'continue: true')}:9: alertmanager.route.routes[2].continue", "warning",
         "continue: true on the last route of its level changes nothing: no sibling follows")]
    near = replace_once(SPEC_TEXT, CRITICAL, CRITICAL + "        continue: true\n"
                        "      - matchers: ['alertname=\"ServiceDown\"']\n        receiver: warning-alerts\n")
    assert found(lint_text, near, "route-useless-continue") == []


ALWAYS = "    - name: always\n      time_intervals:\n        - times: [{start_time: '00:00', end_time: '24:00'}]\n"


def test_route_muted_always(lint_text):
    anchor = "  time_intervals:\n    # In UTC"
    text = replace_once(SPEC_TEXT, anchor, "  time_intervals:\n" + ALWAYS + anchor.removeprefix("  time_intervals:\n"))
    text = replace_once(text, "mute_time_intervals: [outside-business-hours]", "mute_time_intervals: [always]")
    assert found(lint_text, text, "route-always-muted") == [
        (f"stack.yaml:{line_of(text, 'mute_time_intervals: [always]')}:31: "
         "alertmanager.route.routes[2].mute_time_intervals[0]", "error",
         "route is muted always: time interval 'always' covers every minute")]
    near = replace_once(text, "end_time: '24:00'", "end_time: '23:00'")
    assert found(lint_text, near, "route-always-muted") == []


def test_group_by_label_no_alert_carries(lint_text):
    text = replace_once(SPEC_TEXT, "    group_by: [alertname]\n", "    group_by: [alertname, cluster]\n")
    [(where, severity, message)] = found(lint_text, text, "route-group-by-unknown-label")
    assert where == f"stack.yaml:{line_of(text, 'cluster]')}:27: alertmanager.route.group_by[1]"
    assert severity == "warning"
    assert message.startswith("group_by label 'cluster' is carried by none of the ")
    assert message.endswith(" alerts this route receives, so it groups nothing apart")
    near = replace_once(SPEC_TEXT, "    group_by: [alertname]\n", "    group_by: [alertname, service]\n")
    assert found(lint_text, near, "route-group-by-unknown-label") == []


def test_receiver_without_integrations(lint_text):
    text = replace_once(SPEC_TEXT, "        receiver: deadmans-switch\n", "        receiver: sink\n")
    text = replace_once(text, "  receivers:\n", "  receivers:\n    - name: sink\n")
    findings = lint_text(text)
    assert [(where(f), f.severity, f.message) for f in findings if f.rule == "receiver-no-integrations"] == [
        (f"stack.yaml:{line_of(text, '- name: sink')}:7: alertmanager.receivers[0].name", "warning",
         "receiver 'sink' has no integrations: alerts routed to it notify nobody")]
    near = replace_once(text, "    - name: sink\n", "    - name: sink\n      webhook: [{url: 'http://sink:8080/'}]\n")
    assert found(lint_text, near, "receiver-no-integrations") == []


def test_inhibitions_forming_a_cycle(lint_text):
    back = ("    - source_matchers: ['severity=\"warning\"']\n      target_matchers: ['severity=\"critical\"']\n"
            "      equal: [service]\n")
    anchor = "      equal: [service]\n"
    text = replace_once(SPEC_TEXT, anchor, anchor + back)
    [(where, severity, message)] = found(lint_text, text, "inhibit-cycle")
    assert where == f"stack.yaml:{line_of(text, 'source_matchers')}:7: alertmanager.inhibit_rules[0]"
    assert severity == "error"
    assert message.startswith("inhibitions form a cycle: ")
    assert " silences " in message and "(inhibit_rules[0]); " in message and "(inhibit_rules[1])" in message
    assert message.endswith("; when all fire, all are silenced and nobody is notified")
    near = replace_once(SPEC_TEXT, anchor, anchor + back.replace('severity=\\"critical\\"', 'severity=\\"info\\"')
                        .replace("['severity=\"critical\"']", "['severity=\"info\"']"))
    assert found(lint_text, near, "inhibit-cycle") == []
    # one rule whose both sides match the same alerts: Alertmanager does not let them silence each other
    both = replace_once(SPEC_TEXT, "      target_matchers: ['severity=\"warning\"']",
                        "      target_matchers: ['severity=~\"critical|warning\"']")
    both = replace_once(both, "    - source_matchers: ['severity=\"critical\"']",
                        "    - source_matchers: ['severity=~\"critical|warning\"']")
    assert found(lint_text, both, "inhibit-cycle") == []


def test_alert_aggregation_drops_a_label_its_route_groups_by(lint_text):
    text = replace_once(SPEC_TEXT, "    group_by: [alertname]\n", "    group_by: [alertname, endpoint]\n")
    assert found(lint_text, text, "alert-drops-group-by-label") == [
        (f"stack.yaml:{line_of(text, 'name: HighErrorRate')}:9: services[0].alerts[0]", "warning",
         "alert HighErrorRate is delivered by routes[1], which groups by 'endpoint'; the alert's series carry it but "
         "its aggregation drops it, so all its notifications share one group"),
        (f"stack.yaml:{line_of(text, 'name: HighResponseTime')}:9: services[0].alerts[1]", "warning",
         "alert HighResponseTime is delivered by routes[2], which groups by 'endpoint'; the alert's series carry it "
         "but its aggregation drops it, so all its notifications share one group")]
    # `up` never had a `model` label: ServiceDown loses nothing by lacking it, and no alert drops it.
    near = replace_once(SPEC_TEXT, "    group_by: [alertname]\n", "    group_by: [alertname, model]\n")
    assert found(lint_text, near, "alert-drops-group-by-label") == []
