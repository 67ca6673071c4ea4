"""Alert metadata and routing, over typed, raw and SLO alerts; receivers; inhibition labels."""

from __future__ import annotations

from pathlib import Path

from stackgen.pipeline import lint

from .conftest import REPO, SPEC_TEXT, errors, mutate, replace_once, with_raw_alert

SLO_RULES = "prometheus/rules/fugatto-audio-lab-slos.yml"


def test_alert_with_a_severity_no_route_handles(lint_text):
    found = errors(lint_text(with_raw_alert("fugatto_queue_depth > 100", name="QueueBacklog", severity="info")))
    assert [f.rule for f in found] == ["alert-unrouted-severity"]
    assert "alerts[8].severity" in found[0].location()
    assert "alert QueueBacklog (severity info)" in found[0].message and "'web.hook'" in found[0].message
    assert 'severity=\\"info\\"' in found[0].fix or 'severity="info"' in found[0].fix


def test_untemplated_description(lint_text):
    text = replace_once(SPEC_TEXT, "Always firing (value {{ $value }}).", "Always firing.")
    found = errors(lint_text(text))
    assert [f.rule for f in found] == ["alert-description-untemplated"]
    assert "alerts[7].description" in found[0].location() and "Watchdog" in found[0].message


def test_slo_alerts_are_linted_from_the_render_and_point_at_the_slo(committed):
    stack, artifacts = committed
    broken = mutate(artifacts, SLO_RULES, "alert: GenerateLatencySlowBurn", "alert: generate_latency_slow_burn")
    broken = mutate(broken, SLO_RULES, "runbook_url: https://runbooks.example.com/fugatto/GenerateAvailability\n"
                    "      summary: 'fugatto-audio-lab is burning the generate-availability SLO''s error budget too "
                    "fast'\n    expr: |-\n      max without (sloth_window) (\n        (\n          "
                    "(slo:sli_error:ratio_rate2h",
                    "summary: ''\n    expr: |-\n      max without (sloth_window) (\n        (\n          "
                    "(slo:sli_error:ratio_rate2h")
    found = errors(lint(stack, broken, REPO))
    by_rule = {f.rule: f for f in found}
    assert set(by_rule) == {"alert-name-case", "alert-summary", "alert-runbook"}
    # the tier sets no name, so it comes from the SLO's; the SLO sets no summary, which would go under alerting
    assert by_rule["alert-name-case"].location().endswith("slos[1].name")
    assert "'GenerateLatencySlowBurn'" in by_rule["alert-name-case"].fix
    assert by_rule["alert-summary"].location().endswith("slos[0].alerting")
    assert "GenerateAvailabilitySlowBurn" in by_rule["alert-runbook"].message


def test_unused_receiver(lint_text):
    text = replace_once(SPEC_TEXT, "  receivers:\n", "  receivers:\n    - name: spare\n      webhook:\n"
                                                      "        - url: http://webhook-service:8080/spare\n")
    found = errors(lint_text(text))
    assert [f.rule for f in found] == ["receiver-unused"]
    assert "alertmanager.receivers[0].name" in found[0].location() and "'spare'" in found[0].message


def test_inhibition_equal_label_missing_on_an_alert(lint_text):
    text = replace_once(SPEC_TEXT, "      equal: [service]", "      equal: [service, model]")
    found = errors(lint_text(text), "inhibit-equal-missing")
    alerts = {f.message.split(" alert ")[1].split(" ")[0] for f in found}
    # ModelGenerationFailures aggregates by model; no other alert carries it
    assert "ModelGenerationFailures" not in alerts
    assert {"HighErrorRate", "ServiceDown", "HighResponseTime", "GenerateAvailabilityFastBurn"} <= alerts
    assert all("inhibit_rules[0].equal[1]" in f.location() for f in found)
    assert any("source alert HighErrorRate" in f.message for f in found)
    assert any("target alert HighResponseTime" in f.message for f in found)


def test_inhibition_matching_no_alert_warns(lint_text):
    text = replace_once(SPEC_TEXT, "      target_matchers: ['severity=\"warning\"']",
                        "      target_matchers: ['severity=\"page\"']")
    found = [f for f in lint_text(text) if f.rule == "inhibit-no-match"]
    assert len(found) == 1 and found[0].severity == "warning" and "target_matchers" in found[0].location()


def test_committed_stack_has_no_findings(committed):
    stack, artifacts = committed
    assert lint(stack, artifacts, Path(REPO)) == []


def test_raw_alert_with_unknowable_result_labels(lint_text):
    # `service` is a static label of every alert: present whatever the expression returns
    found = lint_text(with_raw_alert("max_over_time(fugatto_queue_depth[5m]) > 100", name="Backlog"))
    assert [f for f in found if f.rule.startswith("inhibit")] == []
    # `instance` depends on the expression; a function the label analysis does not model leaves it unknown
    text = replace_once(with_raw_alert("hour(fugatto_queue_depth) > 100", name="Backlog"),
                        "      equal: [service]", "      equal: [service, instance]")
    found = [f for f in lint_text(text) if "Backlog" in f.message and f.rule == "inhibit-equal-missing"]
    assert [(f.severity, "cannot tell" in f.message) for f in found] == [("warning", True)]
